/* cli.h - the command-line verbs: global options and the verb table. */
#ifndef BX_CLI_H
#define BX_CLI_H

#include <stdbool.h>

/* Exit codes of every verb. */
enum { BX_EXIT_OK = 0, BX_EXIT_ERROR = 1, BX_EXIT_USAGE = 2 };

/* Options that come before the verb: `blixard [--addr A | --socket P] [--json] VERB`. */
struct bx_cli {
	const char *addr;   /* --addr HOST:PORT or BLIXARD_ADDR; NULL if unset */
	const char *socket; /* --socket PATH or BLIXARD_SOCKET; NULL if unset */
	/* --token TOKEN, the first line of --token-file PATH, or BLIXARD_TOKEN:
	 * an API token (src/model/token.h) sent with every request as
	 * "Authorization: Bearer TOKEN"; NULL if unset. A flag's is checked
	 * before the verb runs, the variable's when a request is made. */
	const char *token;
	const char *token_from; /* "--token", "BLIXARD_TOKEN"…: for messages */
	bool json;              /* --json: machine-readable output */
};

/*
 * A verb gets argv with argv[0] = the verb's name and returns an exit code.
 * It prints its own errors, once, as "blixard VERB: what went wrong".
 */
typedef int (*bx_verb_fn)(struct bx_cli *cli, int argc, char **argv);

struct bx_verb {
	const char *name;
	bx_verb_fn run;
	const char *usage;   /* "start NAME [--config FILE.toml]"; NULL: not listed */
	const char *summary; /* one line for `blixard --help` */
	/* What the shell completes after the verb (cmd_completion.c): words
	 * ("drain eligible remove"), flags ("--timeout"), and what a
	 * positional argument is: @service, @node or @file. */
	const char *complete;
};

/* The table, ending with a zeroed entry (cli_verbs.c). */
extern const struct bx_verb bx_verbs[];

/* Every verb, one file each (cmd_<verb>.c). */
int bx_cmd_version(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_daemon(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_start(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_stop(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_status(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_list(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_remove(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_logs(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_nodes(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_events(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_snapshot(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_prometheus(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_join(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_invite(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_token(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_leave(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_validate(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_completion(struct bx_cli *cli, int argc, char **argv);
int bx_cmd_complete_names(struct bx_cli *cli, int argc, char **argv);

#endif

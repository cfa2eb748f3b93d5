/* cmd_completion.c - `blixard completion bash|zsh|fish`: shell completion scripts made
 * from the verb table, and the names they complete, asked of the local daemon. */
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"
#include "src/model/config.h"

#include <stdio.h>
#include <string.h>

/*
 * Each script is printed from the verb table (cli_verbs.c: a verb's
 * `complete` says its words, its flags and what its arguments are), so a new
 * verb or flag is completed without touching this file. Service names and
 * node ids come from `blixard __complete services|nodes`, which asks the
 * daemon the command line names (--addr, --socket) or the local one, and
 * prints nothing when none answers within a second.
 */

static const char usage[] = "usage: blixard completion bash|zsh|fish\n"
			    "  Print a completion script for the shell. For the running shell:\n"
			    "    source <(blixard completion bash)\n"
			    "  'make install' puts them where bash, zsh and fish look.\n";

/* The flags before a verb, with a value after each but --json. */
static const char global_flags[] = "--addr --socket --token --token-file --json --help";

/* The words of a verb's `complete` of one kind into out: "words" (plain
 * words), "flags" (starting with '-'), or the argument kinds ("service file"). */
static void split(const struct bx_verb *v, const char *kind, char *out, size_t size)
{
	char copy[512];
	size_t used = 0;

	out[0] = '\0';
	snprintf(copy, sizeof copy, "%s", v->complete != NULL ? v->complete : "");
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		bool flag = w[0] == '-', arg = w[0] == '@';
		bool want = strcmp(kind, "flags") == 0   ? flag
			    : strcmp(kind, "args") == 0 ? arg
							: !flag && !arg;
		if (want)
			used += (size_t)snprintf(out + used, size - used, "%s%s",
						 used ? " " : "", arg ? w + 1 : w);
		if (used >= size)
			used = size - 1;
	}
}

/* The daemon's flags (src/model/config.c's table) for @daemon. */
static void daemon_flags(char *out, size_t size)
{
	size_t used = 0;
	const char *f;

	out[0] = '\0';
	for (size_t i = 0; (f = bx_config_flag(i)) != NULL && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "", f);
	if (used >= size)
		out[size - 1] = '\0';
}

static void flags_of(const struct bx_verb *v, char *out, size_t size)
{
	char args[64];

	split(v, "args", args, sizeof args);
	if (strcmp(args, "daemon") == 0)
		daemon_flags(out, size);
	else
		split(v, "flags", out, size);
}

static void verbs_line(char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (const struct bx_verb *v = bx_verbs; v->name != NULL && used < size; v++)
		if (v->usage != NULL)
			used += (size_t)snprintf(out + used, size - used, "%s%s",
						 used ? " " : "", v->name);
	if (used >= size)
		out[size - 1] = '\0'; /* cut short: a longer buffer is wanted */
}

static void bash(FILE *out, bool for_zsh)
{
	char verbs[512], words[256], flags[2048], args[64];

	verbs_line(verbs, sizeof verbs);
	if (for_zsh)
		fputs("#compdef blixard\n"
		      "# zsh completion for blixard ('blixard completion zsh'), through\n"
		      "# zsh's bash completion support\n"
		      "autoload -U +X bashcompinit && bashcompinit\n",
		      out);
	else
		fputs("# bash completion for blixard ('blixard completion bash')\n", out);
	/* zsh autoloads this file as the function _blixard: the bash-style
	 * function must have another name, or it would replace it */
	const char *fn = for_zsh ? "__blixard_bash" : "_blixard";

	fputs("_blixard_names() { # services|nodes, from the daemon the line names\n"
	      "\tblixard \"${_blixard_global[@]}\" __complete \"$1\" 2>/dev/null\n"
	      "}\n",
	      out);
	fprintf(out, "%s() {\n", fn);
	fputs(""
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tlocal verb='' i words='' flags='' args='' names='' flag val\n"
	      "\t_blixard_global=()\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t--addr | --socket | --token | --token-file)\n"
	      "\t\t\tflag=${COMP_WORDS[i]}; ((i++)); val=${COMP_WORDS[i]}\n"
	      "\t\t\t# readline splits HOST:PORT at ':' (COMP_WORDBREAKS): join it again\n"
	      "\t\t\twhile [[ ${COMP_WORDS[i+1]} == : ]] && ((i + 2 < COMP_CWORD)); do\n"
	      "\t\t\t\tval+=:${COMP_WORDS[i+2]}; ((i += 2))\n"
	      "\t\t\tdone\n"
	      "\t\t\t_blixard_global+=(\"$flag\" \"$val\") ;;\n"
	      "\t\t-*) ;;\n"
	      "\t\t*) verb=${COMP_WORDS[i]}; break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tif [[ -z $verb ]]; then\n"
	      "\t\tcase $prev in\n"
	      "\t\t--socket | --token-file) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	      "\t\t--addr | --token) COMPREPLY=(); return ;;\n"
	      "\t\tesac\n",
	      out);
	fprintf(out, "\t\tCOMPREPLY=($(compgen -W '%s %s' -- \"$cur\"))\n\t\treturn\n\tfi\n",
		verbs, global_flags);
	fputs("\tcase $prev in\n"
	      "\t--config | --watch | --token-file | --cluster-secret-file | --data-dir)\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	      "\tesac\n"
	      "\tcase $verb in\n",
	      out);
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++) {
		if (v->usage == NULL)
			continue;
		split(v, "words", words, sizeof words);
		flags_of(v, flags, sizeof flags);
		split(v, "args", args, sizeof args);
		fprintf(out, "\t%s) words='%s' flags='%s' args='%s' ;;\n", v->name, words,
			flags, args);
	}
	fputs("\tesac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\t[[ $args == *service* ]] && names+=\" $(_blixard_names services)\"\n"
	      "\t[[ $args == *node* ]] && names+=\" $(_blixard_names nodes)\"\n"
	      "\tCOMPREPLY=($(compgen -W \"$words $names\" -- \"$cur\"))\n"
	      "\t[[ $args == *file* ]] && COMPREPLY+=($(compgen -f -- \"$cur\"))\n"
	      "\treturn 0\n"
	      "}\n",
	      out);
	fprintf(out, "complete -F %s blixard\n", fn);
	if (for_zsh) /* the first TAB loads this file: complete that one too */
		fputs("[[ ${funcstack[1]} == _blixard ]] && _bash_complete -F __blixard_bash\n",
		      out);
}

/* fish: one `complete` line per verb, per flag, per kind of argument. */
static void fish(FILE *out)
{
	char words[256], flags[2048], args[64];

	fputs("# fish completion for blixard ('blixard completion fish')\n"
	      "complete -c blixard -f\n"
	      "complete -c blixard -n __fish_use_subcommand -l addr -r -d 'a daemon\\'s API HOST:PORT'\n"
	      "complete -c blixard -n __fish_use_subcommand -l socket -r -F -d 'a daemon\\'s local socket'\n"
	      "complete -c blixard -n __fish_use_subcommand -l token -r -d 'an API token'\n"
	      "complete -c blixard -n __fish_use_subcommand -l token-file -r -F -d 'a file holding an API token'\n"
	      "complete -c blixard -n __fish_use_subcommand -l json -d 'machine-readable output'\n",
	      out);
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++) {
		char cond[96];
		if (v->usage == NULL)
			continue;
		fprintf(out, "complete -c blixard -n __fish_use_subcommand -a %s -d '", v->name);
		for (const char *c = v->summary; *c != '\0'; c++)
			fputs(*c == '\'' ? "\\'" : (char[2]){*c, '\0'}, out);
		fputs("'\n", out);
		snprintf(cond, sizeof cond, "'__fish_seen_subcommand_from %s'", v->name);
		split(v, "words", words, sizeof words);
		flags_of(v, flags, sizeof flags);
		split(v, "args", args, sizeof args);
		if (words[0] != '\0')
			fprintf(out, "complete -c blixard -n %s -a '%s'\n", cond, words);
		if (strstr(args, "service") != NULL)
			fprintf(out, "complete -c blixard -n %s -a '(blixard __complete services 2>/dev/null)'\n",
				cond);
		if (strstr(args, "node") != NULL)
			fprintf(out, "complete -c blixard -n %s -a '(blixard __complete nodes 2>/dev/null)'\n",
				cond);
		if (strstr(args, "file") != NULL)
			fprintf(out, "complete -c blixard -n %s -F\n", cond);
		char copy[2048];
		snprintf(copy, sizeof copy, "%s", flags);
		for (char *save = NULL, *f = strtok_r(copy, " ", &save); f != NULL;
		     f = strtok_r(NULL, " ", &save))
			fprintf(out, "complete -c blixard -n %s -%s %s\n", cond,
				f[1] == '-' ? "l" : "s", f[1] == '-' ? f + 2 : f + 1);
	}
}

int bx_cmd_completion(struct bx_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return BX_EXIT_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "blixard completion: name a shell\n%s", usage);
		return BX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "bash") == 0)
		bash(stdout, false);
	else if (strcmp(argv[1], "zsh") == 0)
		bash(stdout, true);
	else if (strcmp(argv[1], "fish") == 0)
		fish(stdout);
	else {
		fprintf(stderr, "blixard completion: no completion for '%s' (bash, zsh or fish)\n%s",
			argv[1], usage);
		return BX_EXIT_USAGE;
	}
	return BX_EXIT_OK;
}

/* `blixard __complete services|nodes`: names, one a line; nothing (exit 0)
 * when no daemon answers within a second: a completion must never hang. */
int bx_cmd_complete_names(struct bx_cli *cli, int argc, char **argv)
{
	bool services = argc == 2 && strcmp(argv[1], "services") == 0;
	struct bx_cli_reply r;
	char errmsg[512];
	const cJSON *e;

	if (argc != 2 || (!services && strcmp(argv[1], "nodes") != 0))
		return BX_EXIT_USAGE;
	if (bx_cli_call(cli, NULL, "GET", services ? "/v1/services" : "/v1/nodes", NULL, 1000,
			&r, errmsg) != 0)
		return BX_EXIT_OK;
	if (r.status == 200)
		cJSON_ArrayForEach(e, r.json)
		{
			const cJSON *v =
			    cJSON_GetObjectItemCaseSensitive(e, services ? "name" : "id");
			if (cJSON_IsString(v))
				printf("%s\n", v->valuestring);
			else if (cJSON_IsNumber(v))
				printf("%.0f\n", v->valuedouble);
		}
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

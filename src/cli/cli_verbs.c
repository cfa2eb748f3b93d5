/* cli_verbs.c - the table of verbs: one line each, usage and summary. */
#include "src/cli/cli.h"

#include <stddef.h>

const struct bx_verb bx_verbs[] = {
    {"daemon", bx_cmd_daemon, "daemon [--config FILE] [flags]", "run the Blixard daemon"},
    {"start", bx_cmd_start, "start FILE.toml | NAME [--config FILE.toml]",
     "create or update a service from a spec, or start it; waits until healthy"},
    {"stop", bx_cmd_stop, "stop NAME", "stop a service (it stays defined)"},
    {"status", bx_cmd_status, "status [NAME]",
     "the cluster and its services, or one service"},
    {"list", bx_cmd_list, "list", "every service and its state"},
    {"remove", bx_cmd_remove, "remove NAME", "delete a service (stopping it)"},
    {"logs", bx_cmd_logs, "logs NAME [-n LINES]", "console output of a service"},
    {"nodes", bx_cmd_nodes, "nodes [drain ID | eligible ID | remove ID]",
     "the cluster's nodes; drain one, make it eligible, remove a dead one"},
    {"node", bx_cmd_nodes, "node drain ID | eligible ID", "the same as 'nodes'"},
    {"events", bx_cmd_events, "events [--service NAME] [-n N] [-f]",
     "what happened to services and nodes, from the replicated event log"},
    {"snapshot", bx_cmd_snapshot, "snapshot save FILE | restore FILE",
     "save the cluster's state to a file; restore its services into a new cluster"},
    {"prometheus", bx_cmd_prometheus, "prometheus targets [--watch FILE]",
     "every node's /metrics as Prometheus file_sd targets"},
    {"invite", bx_cmd_invite,
     "invite create [--ttl 24h] [--uses N] [--role R] | list | revoke ID",
     "tokens that let new nodes join (blixard daemon --join-token TOKEN)"},
    {"token", bx_cmd_token,
     "token create [--role admin|read] [--name N] | list | revoke ID",
     "bearer tokens for the HTTP API (blixard --token TOKEN)"},
    {"join", bx_cmd_join, "join HOST:PORT", "join the local daemon to a cluster"},
    {"leave", bx_cmd_leave, "leave", "take the local daemon out of its cluster"},
    {"validate", bx_cmd_validate, "validate FILE.toml... | --config FILE",
     "check specs (or a daemon config) without a cluster"},
    {"version", bx_cmd_version, "version", "print the version"},
    {NULL, NULL, NULL, NULL},
};

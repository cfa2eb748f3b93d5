/* log.h - the daemon's log: one line per event, level and component first. */
#ifndef BX_LOG_H
#define BX_LOG_H

enum bx_log_level { BX_LOG_DEBUG, BX_LOG_INFO, BX_LOG_WARN, BX_LOG_ERROR };

/* Lines below this level are dropped. Default BX_LOG_INFO. */
void bx_log_set_level(enum bx_log_level level);

/* Parse "debug" | "info" | "warn" | "error"; returns -1 if unknown. */
int bx_log_level_parse(const char *text);

/*
 * Write "2026-11-23T03:40:00.123Z INFO  raft: <message>\n" to stderr.
 * Library code (parsers, the FSM, the scheduler) never logs; the daemon's
 * event-loop components (raft node, agent, API) do.
 */
void bx_log(enum bx_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define BX_DEBUG(comp, ...) bx_log(BX_LOG_DEBUG, comp, __VA_ARGS__)
#define BX_INFO(comp, ...) bx_log(BX_LOG_INFO, comp, __VA_ARGS__)
#define BX_WARN(comp, ...) bx_log(BX_LOG_WARN, comp, __VA_ARGS__)
#define BX_ERROR(comp, ...) bx_log(BX_LOG_ERROR, comp, __VA_ARGS__)

#endif

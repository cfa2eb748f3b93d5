/* log.h - the daemon's log: one line per event, level and component first. */
#ifndef BX_LOG_H
#define BX_LOG_H

enum bx_log_level { BX_LOG_DEBUG, BX_LOG_INFO, BX_LOG_WARN, BX_LOG_ERROR };

/* Lines below this level are dropped. Default BX_LOG_INFO. */
void bx_log_set_level(enum bx_log_level level);

/* Parse "debug" | "info" | "warn" | "error"; returns -1 if unknown. */
int bx_log_level_parse(const char *text);

/*
 * Write "2026-11-23T03:40:00.123Z INFO  raft: <message>\n" to stderr: the
 * time in UTC, the level, the component. A line about one service instance
 * names it: "… INFO  agent service=web@1: <message>" (service not NULL), so
 * that grep 'service=web[@:]' finds every line of web's instances.
 * Library code (parsers, the FSM, the scheduler) never logs; the daemon's
 * event-loop components (raft node, agent, API) do.
 */
void bx_log_service(enum bx_log_level level, const char *component, const char *service,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define bx_log(level, comp, ...) bx_log_service(level, comp, NULL, __VA_ARGS__)
#define BX_DEBUG(comp, ...) bx_log(BX_LOG_DEBUG, comp, __VA_ARGS__)
#define BX_INFO(comp, ...) bx_log(BX_LOG_INFO, comp, __VA_ARGS__)
#define BX_WARN(comp, ...) bx_log(BX_LOG_WARN, comp, __VA_ARGS__)
#define BX_ERROR(comp, ...) bx_log(BX_LOG_ERROR, comp, __VA_ARGS__)
#define BX_SVC_DEBUG(comp, svc, ...) bx_log_service(BX_LOG_DEBUG, comp, svc, __VA_ARGS__)
#define BX_SVC_INFO(comp, svc, ...) bx_log_service(BX_LOG_INFO, comp, svc, __VA_ARGS__)
#define BX_SVC_WARN(comp, svc, ...) bx_log_service(BX_LOG_WARN, comp, svc, __VA_ARGS__)
#define BX_SVC_ERROR(comp, svc, ...) bx_log_service(BX_LOG_ERROR, comp, svc, __VA_ARGS__)

#endif

/* log.c - timestamped log lines on stderr. */
#include "src/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum bx_log_level min_level = BX_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void bx_log_set_level(enum bx_log_level level)
{
	min_level = level;
}

int bx_log_level_parse(const char *text)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};

	for (int i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

void bx_log_service(enum bx_log_level level, const char *component, const char *service,
		    const char *fmt, ...)
{
	char line[2048];
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level < min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03dZ %-5s %s%s%s: ", stamp,
		     (int)(tv.tv_usec / 1000), level_names[level], component,
		     service != NULL ? " service=" : "", service != NULL ? service : "");
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line, so lines from one process never interleave */
	fprintf(stderr, "%s\n", line);
}

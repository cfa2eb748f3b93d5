/* cli_fmt.c - reading fields of API records for the CLI's tables. */
#include "src/cli/cli_fmt.h"

#include <stdio.h>
#include <time.h>

const char *bx_fmt_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

const char *bx_fmt_num(const cJSON *obj, const char *key, char *buf, size_t size,
		       int dash_zero)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || (dash_zero && v->valuedouble == 0))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.0f", v->valuedouble);
	return buf;
}

const char *bx_fmt_utc(const cJSON *obj, const char *key, char *buf, size_t size)
{
	double ms = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, key));
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	/* NaN (no such number) fails the comparison */
	if (!(ms > 0) || gmtime_r(&sec, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
	return buf;
}

const char *bx_fmt_age(const cJSON *obj, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct timespec ts;
	double age;

	if (!cJSON_IsNumber(v) || v->valuedouble <= 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	age =
	    ((double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6 - v->valuedouble) / 1000;
	if (age < 0)
		age = 0;
	if (age < 120)
		snprintf(buf, size, "%.0fs", age);
	else if (age < 7200)
		snprintf(buf, size, "%.0fm", age / 60);
	else if (age < 172800)
		snprintf(buf, size, "%.0fh", age / 3600);
	else
		snprintf(buf, size, "%.0fd", age / 86400);
	return buf;
}

void bx_cli_print_events(const cJSON *events, FILE *out)
{
	const cJSON *ev;

	cJSON_ArrayForEach(ev, events)
	{
		double at =
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "at"));
		const char *who = bx_fmt_str(ev, "instance")[0]
				      ? bx_fmt_str(ev, "instance")
				      : bx_fmt_str(ev, "service");
		char stamp[40] = "-", node[24], gen[24];
		time_t sec = (time_t)(at / 1000);
		struct tm tm;

		if (at > 0 && gmtime_r(&sec, &tm) != NULL) {
			size_t n =
			    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(stamp + n, sizeof stamp - n, ".%03dZ",
				 (int)((long long)at % 1000));
		}
		if (who[0] == '\0')
			who = bx_fmt_str(ev, "node_name")[0] ? bx_fmt_str(ev, "node_name")
							     : "-";
		fprintf(out, "%-24s  %-20s  %-4s  %-4s  %-15s  %s\n", stamp, who,
			bx_fmt_num(ev, "node", node, sizeof node, 1),
			bx_fmt_num(ev, "generation", gen, sizeof gen, 1),
			bx_fmt_str(ev, "type"), bx_fmt_str(ev, "reason"));
	}
}

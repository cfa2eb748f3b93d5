/* toml-bench.c - parse speed: a generated spec-like TOML document, parsed N times; MB/s. */
#include "src/toml/toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t target = argc > 1 ? strtoul(argv[1], NULL, 10) : (1u << 20);
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	size_t cap = target + 4096, len = 0;
	char *doc = malloc(cap);
	double rates[64];

	if (runs < 1 || runs > 64 || doc == NULL)
		return 2;
	/* many services, each with the shape of a real spec */
	for (int i = 0; len + 1024 < target; i++)
		len += (size_t)snprintf(
			doc + len, cap - len,
			"[[service]]\nname = \"svc-%d\" # a comment\ndriver = \"qemu\"\n"
			"memory_mb = %d\nvcpus = 2\nports = [\"%d:80\", \"%d:443/udp\"]\n"
			"health = { type = \"http\", path = \"/health\", port = %d, interval_ms = 1_000 }\n"
			"restart.policy = 'on-failure'\nrestart.backoff = 0.5\n"
			"created = 2026-11-23T04:00:00Z\ncmdline = \"\"\"console=ttyS0 \\\n  quiet\"\"\"\n\n",
			i, 256 + i % 512, 8000 + i % 1000, 9000 + i % 1000, 8000 + i % 1000);
	for (int r = 0; r < runs; r++) {
		struct bx_toml_value *v;
		struct bx_toml_error err;
		double t0 = now();
		if (bx_toml_parse(doc, len, &v, &err) != 0) {
			fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
			return 1;
		}
		rates[r] = (double)len / (now() - t0) / 1e6;
		bx_toml_free(v);
	}
	qsort(rates, (size_t)runs, sizeof rates[0], cmp);
	printf("document %zu bytes, %d runs: median %.1f MB/s (min %.1f, max %.1f)\n", len, runs,
	       rates[runs / 2], rates[0], rates[runs - 1]);
	free(doc);
	return 0;
}

/* test_metrics.c - counters, histograms and the Prometheus text they are written as. */
#include "src/base/metrics.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What bx_metrics_write (or `fn`) writes, as one string (caller frees). */
static char *written(const struct bx_metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ASSERT(f != NULL);
	bx_metrics_write(m, f);
	ASSERT_INT(fclose(f), 0);
	return text;
}

TEST(routesAreAFixedSetWithNamesAndIdsReplaced)
{
	ASSERT_STR(bx_metrics_route("/v1/services"), "/v1/services");
	ASSERT_STR(bx_metrics_route("/v1/services/web"), "/v1/services/:name");
	ASSERT_STR(bx_metrics_route("/v1/services/web@2"), "/v1/services/:name");
	ASSERT_STR(bx_metrics_route("/v1/services/web/start"),
		   "/v1/services/:name/start");
	ASSERT_STR(bx_metrics_route("/v1/services/web/logs"), "/v1/services/:name/logs");
	ASSERT_STR(bx_metrics_route("/v1/services/web/nope"), "other");
	ASSERT_STR(bx_metrics_route("/v1/services/"), "other");
	ASSERT_STR(bx_metrics_route("/v1/nodes/3"), "/v1/nodes/:id");
	ASSERT_STR(bx_metrics_route("/v1/nodes/3/drain"), "/v1/nodes/:id/drain");
	ASSERT_STR(bx_metrics_route("/metrics"), "/metrics");
	ASSERT_STR(bx_metrics_route("/anything/else"), "other");
}

TEST(histogramBucketsAreCumulativeWithSumAndCount)
{
	struct bx_metrics m = {0};
	char *text;

	bx_hist_observe(&m.commit, 0.0004); /* le 0.0005 */
	bx_hist_observe(&m.commit, 0.003);  /* le 0.005 */
	bx_hist_observe(&m.commit, 0.003);
	bx_hist_observe(&m.commit, 60); /* only +Inf */
	bx_hist_observe(&m.commit, -1); /* a clock going back counts as 0 */
	text = written(&m);
	ASSERT_CONTAINS(text, "# TYPE blixard_raft_commit_seconds histogram\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_bucket{le=\"0.0005\"} 2\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_bucket{le=\"0.0025\"} 2\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_bucket{le=\"0.005\"} 4\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_bucket{le=\"10\"} 4\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_bucket{le=\"+Inf\"} 5\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_sum 60.0064\n");
	ASSERT_CONTAINS(text, "blixard_raft_commit_seconds_count 5\n");
	free(text);
	bx_metrics_free(&m);
}

TEST(apiRequestsAreCountedByRouteMethodAndStatus)
{
	struct bx_metrics m = {0};
	char *text;

	bx_metrics_api(&m, "GET", "/v1/services/a", 200, 0.001);
	bx_metrics_api(&m, "GET", "/v1/services/b", 200, 0.002);
	bx_metrics_api(&m, "GET", "/v1/services/c", 404, 0.003);
	bx_metrics_api(&m, "PUT", "/v1/services/a", 200, 0.2);
	bx_metrics_api(&m, "BREW", "/coffee", 405, 0);
	text = written(&m);
	ASSERT_CONTAINS(text, "blixard_api_requests_total{route=\"/v1/services/:name\","
			      "method=\"GET\",code=\"200\"} 2\n");
	ASSERT_CONTAINS(text, "blixard_api_requests_total{route=\"/v1/services/:name\","
			      "method=\"GET\",code=\"404\"} 1\n");
	ASSERT_CONTAINS(text, "blixard_api_requests_total{route=\"/v1/services/:name\","
			      "method=\"PUT\",code=\"200\"} 1\n");
	ASSERT_CONTAINS(text, "blixard_api_requests_total{route=\"other\","
			      "method=\"other\",code=\"405\"} 1\n");
	/* latency by route only: all four /v1/services/:name requests */
	ASSERT_CONTAINS(text, "blixard_api_request_duration_seconds_count"
			      "{route=\"/v1/services/:name\"} 4\n");
	ASSERT_CONTAINS(text, "blixard_api_request_duration_seconds_bucket"
			      "{route=\"/v1/services/:name\",le=\"0.1\"} 3\n");
	ASSERT_INT((int)m.n_api, 4);
	free(text);
	bx_metrics_free(&m);
	bx_metrics_free(NULL);
}

TEST(everyMetricHasHelpAndTypeOnce)
{
	struct bx_metrics m = {0};
	char *text, *line, *save = NULL;
	int heads = 0, types = 0;

	m.starts = 3;
	text = written(&m);
	ASSERT_CONTAINS(text, "# TYPE blixard_instance_starts_total counter\n"
			      "blixard_instance_starts_total 3\n");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		heads += strncmp(line, "# HELP ", 7) == 0;
		types += strncmp(line, "# TYPE ", 7) == 0;
	}
	ASSERT(heads > 0);
	ASSERT_INT(heads, types);
	free(text);
}

TEST(labelValuesAreEscaped)
{
	char out[64];

	bx_prom_escape("a\"b\\c\nd", out, sizeof out);
	ASSERT_STR(out, "a\\\"b\\\\c\\nd");
	bx_prom_escape("abcdefgh", out, 5); /* cut, still terminated */
	ASSERT_STR(out, "ab");
}

/* proposer.c - the leader's proposals, batched: the commands of one loop turn in one
 * entry. */
#include "src/node/proposer.h"

#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/base/json.h"
#include "src/base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One proposed entry: whom to tell about each of its commands. */
struct batch {
	struct bx_proposer *p;
	struct bx_proposer_item *items;
	size_t n;
	uint64_t index;       /* of its entry */
	uint64_t proposed_at; /* uv_hrtime() */
};

static void fail_items(struct bx_proposer_item *items, size_t n, int code)
{
	const char *msg = code == BX_ENOLEADER
			      ? "leadership lost before the write committed"
			      : bx_strerror(code);

	for (size_t i = 0; i < n; i++)
		items[i].cb(items[i].data, code, msg, NULL);
}

static void batch_done(void *data, int code, void *result)
{
	struct batch *b = data;
	struct bx_fsm_results *res = code == BX_OK ? result : NULL;

	if (code != BX_OK)
		bx_fsm_unexpect(b->p->fsm, b->index); /* its results will not come */
	else if (b->p->commit != NULL)
		bx_hist_observe(b->p->commit,
				(double)(uv_hrtime() - b->proposed_at) / 1e9);
	if (code == BX_OK && (res == NULL || res->n != b->n)) {
		char msg[128];
		snprintf(msg, sizeof msg,
			 "the state machine answered for %zu commands, not %zu",
			 res != NULL ? res->n : 0, b->n);
		for (size_t i = 0; i < b->n; i++)
			b->items[i].cb(b->items[i].data, BX_EIO, msg, NULL);
	} else if (code != BX_OK) {
		fail_items(b->items, b->n, code);
	} else {
		/* the results are the FSM's, valid during this callback only */
		for (size_t i = 0; i < b->n; i++)
			b->items[i].cb(b->items[i].data, res->items[i].code,
				       res->items[i].msg, res->items[i].record);
	}
	/* ours since bx_fsm_expect (raft/fsm.h); never the FSM's scratch results */
	if (res != NULL && res != &b->p->fsm->results)
		bx_fsm_results_free(res);
	free(b->items);
	free(b);
}

void bx_proposer_flush(struct bx_proposer *p)
{
	struct bx_proposer_item *items = p->items;
	size_t n = p->n, len = p->len;
	char *buf = p->buf;
	struct batch *b;
	int rv;

	if (n == 0)
		return;
	uv_prepare_stop(&p->prepare);
	/* The batch leaves the proposer before any callback can submit again. */
	p->buf = NULL;
	p->items = NULL;
	p->len = p->cap = p->n = p->items_cap = 0;
	b = malloc(sizeof *b);
	if (b == NULL) {
		free(buf);
		fail_items(items, n, BX_ENOMEM);
		free(items);
		return;
	}
	*b = (struct batch){.p = p, .items = items, .n = n, .proposed_at = uv_hrtime()};
	if (n == 1) {
		/* one command: the object itself, not a batch of one */
		memmove(buf, buf + 1, len - 1);
		len--;
	} else {
		buf[len++] = ']'; /* room was kept for it */
	}
	p->entries++;
	p->commands += n;
	rv = bx_raft_node_propose(p->raft, buf, len, batch_done, b,
				  &b->index); /* takes buf */
	if (rv == BX_OK && bx_fsm_expect(p->fsm, b->index) != BX_OK)
		BX_WARN("raft", "out of memory: results of entry %llu will be lost",
			(unsigned long long)b->index);
	if (rv != BX_OK) {
		fail_items(items, n, rv);
		free(items);
		free(b);
	}
}

static void on_prepare(uv_prepare_t *h)
{
	bx_proposer_flush(h->data);
}

void bx_proposer_init(struct bx_proposer *p, uv_loop_t *loop, struct bx_raft_node *raft,
		      struct bx_fsm *fsm)
{
	memset(p, 0, sizeof *p);
	p->raft = raft;
	p->fsm = fsm;
	uv_prepare_init(loop, &p->prepare);
	p->prepare.data = p;
}

/* Make room for `more` bytes plus the closing ']'. */
static int reserve(struct bx_proposer *p, size_t more)
{
	size_t need = p->len + more + 1, cap = p->cap ? p->cap : 4096;
	char *grown;

	if (need <= p->cap)
		return BX_OK;
	while (cap < need)
		cap *= 2;
	grown = realloc(p->buf, cap);
	if (grown == NULL)
		return BX_ENOMEM;
	p->buf = grown;
	p->cap = cap;
	return BX_OK;
}

int bx_proposer_submit(struct bx_proposer *p, cJSON *cmd, bx_proposer_cb cb, void *data)
{
	char *text;
	size_t tlen;

	if (!bx_raft_node_is_leader(p->raft)) {
		cJSON_Delete(cmd);
		return BX_ENOTLEADER;
	}
	if (cmd == NULL) /* a constructor ran out of memory */
		return BX_ENOMEM;
	text = bx_json_print(cmd, &tlen);
	cJSON_Delete(cmd);
	if (text == NULL)
		return BX_ENOMEM;
	if (p->n > 0 && (p->n == BX_PROPOSER_MAX_BATCH ||
			 p->len + tlen + 2 > BX_PROPOSER_MAX_BATCH_BYTES))
		bx_proposer_flush(p);
	if (p->n == p->items_cap) {
		size_t cap = p->items_cap ? 2 * p->items_cap : 16;
		struct bx_proposer_item *items = realloc(p->items, cap * sizeof *items);
		if (items == NULL) {
			free(text);
			return BX_ENOMEM;
		}
		p->items = items;
		p->items_cap = cap;
	}
	if (reserve(p, tlen + 1) != BX_OK) {
		free(text);
		return BX_ENOMEM;
	}
	p->buf[p->len++] = p->n == 0 ? '[' : ',';
	memcpy(p->buf + p->len, text, tlen);
	p->len += tlen;
	free(text);
	p->items[p->n++] = (struct bx_proposer_item){cb, data};
	if (p->n == 1)
		uv_prepare_start(&p->prepare, on_prepare);
	return BX_OK;
}

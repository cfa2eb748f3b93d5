/* fake_submit.c - an in-memory submitter: commands applied, in order, to a real FSM and store. */
#include "tests/lib/fake_submit.h"

#include "raft/command.h"
#include "src/base/error.h"
#include "src/base/json.h"
#include "src/store/store.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_entry {
	cJSON *cmd;
	bx_submit_cb cb;
	void *data;
	struct fake_entry *next;
};

static void on_fsm_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res,
			 enum bx_op op, const char *name)
{
	struct bx_fake_submit *f = fsm->data;

	if (f->on_apply != NULL)
		f->on_apply(f->on_apply_data, op, name, res != NULL ? res->record : NULL);
}

static void enqueue(struct bx_fake_submit *f, cJSON *cmd, bx_submit_cb cb, void *data)
{
	struct fake_entry *e = calloc(1, sizeof *e);

	ASSERT(e != NULL);
	e->cmd = cmd;
	e->cb = cb;
	e->data = data;
	if (f->tail != NULL)
		f->tail->next = e;
	else
		f->head = e;
	f->tail = e;
	f->queued++;
}

static void submit(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	struct bx_fake_submit *f = data;

	if (cmd == NULL) {
		cb(cb_data, BX_ENOMEM, "out of memory", NULL);
		return;
	}
	if (f->fail_submit != 0) {
		cJSON_Delete(cmd);
		cb(cb_data, f->fail_submit, bx_strerror(f->fail_submit), NULL);
		return;
	}
	enqueue(f, cmd, cb, cb_data);
}

static int propose(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	struct bx_fake_submit *f = data;

	if (!f->leader) {
		cJSON_Delete(cmd);
		return BX_ENOTLEADER;
	}
	if (cmd == NULL)
		return BX_ENOMEM;
	enqueue(f, cmd, cb, cb_data);
	return BX_OK;
}

static const char *leader_api(void *data, char *buf, size_t size)
{
	struct bx_fake_submit *f = data;

	if (f->leader_api == NULL)
		return NULL;
	snprintf(buf, size, "%s", f->leader_api);
	return buf;
}

void bx_fake_submit_open(struct bx_fake_submit *f, const char *dir)
{
	char msg[BX_ERRMSG_SIZE] = "";

	memset(f, 0, sizeof *f);
	f->port = (struct bx_submitter){
	    .data = f, .submit = submit, .propose = propose, .leader_api = leader_api};
	f->ts = 1000;
	f->leader = true;
	f->log = cJSON_CreateArray();
	ASSERT_MSG(bx_store_open(dir, NULL, &f->store, msg) == 0, "open store: %s", msg);
	ASSERT_INT(bx_fsm_init(&f->fsm, f->store, bx_fsm_validate_spec, on_fsm_apply, f), 0);
}

void bx_fake_submit_close(struct bx_fake_submit *f)
{
	while (f->head != NULL) {
		struct fake_entry *e = f->head;
		f->head = e->next;
		cJSON_Delete(e->cmd);
		free(e);
	}
	f->tail = NULL;
	bx_fsm_close(&f->fsm);
	bx_store_close(f->store);
	cJSON_Delete(f->log);
}

/* Apply one command as the next entry; its result is the FSM's (borrowed). */
static const struct bx_fsm_result *apply_one(struct bx_fake_submit *f, cJSON *cmd)
{
	uint64_t index = bx_store_applied_index(f->store) + 1;
	const struct bx_fsm_results *res;
	size_t len;
	char *text;

	if (!cJSON_HasObjectItem(cmd, "ts"))
		cJSON_AddNumberToObject(cmd, "ts", (double)f->ts++);
	text = bx_json_print(cmd, &len);
	ASSERT(text != NULL);
	res = bx_fsm_apply_json(&f->fsm, index, text, len);
	free(text);
	ASSERT_INT(bx_store_applied_index(f->store), index);
	ASSERT_INT(res->n, 1);
	cJSON_AddItemToArray(f->log, cmd);
	return &res->items[0];
}

unsigned bx_fake_submit_flush(struct bx_fake_submit *f)
{
	unsigned n = 0;

	while (f->head != NULL) {
		struct fake_entry *e = f->head;
		const struct bx_fsm_result *res;
		cJSON *record;
		f->head = e->next;
		if (f->head == NULL)
			f->tail = NULL;
		f->queued--;
		res = apply_one(f, e->cmd);
		/* the result lives until the next apply, which the callback may cause */
		record = res->record != NULL ? cJSON_Duplicate(res->record, true) : NULL;
		char msg[sizeof res->msg];
		int code = res->code;
		snprintf(msg, sizeof msg, "%s", res->msg);
		e->cb(e->data, code, msg, record);
		cJSON_Delete(record);
		free(e);
		n++;
	}
	return n;
}

unsigned bx_fake_submit_drop(struct bx_fake_submit *f, int code)
{
	unsigned n = 0;

	while (f->head != NULL) {
		struct fake_entry *e = f->head;
		f->head = e->next;
		if (f->head == NULL)
			f->tail = NULL;
		f->queued--;
		cJSON_Delete(e->cmd);
		e->cb(e->data, code, bx_strerror(code), NULL);
		free(e);
		n++;
	}
	return n;
}

int bx_fake_submit_apply(struct bx_fake_submit *f, cJSON *cmd, cJSON **record)
{
	const struct bx_fsm_result *res;

	ASSERT(cmd != NULL);
	res = apply_one(f, cmd);
	if (record != NULL)
		*record = res->record != NULL ? cJSON_Duplicate(res->record, true) : NULL;
	return res->code;
}

static bool is_op(const cJSON *cmd, enum bx_op op)
{
	enum bx_op have;

	return bx_command_op_of(cmd, &have) == 0 && have == op;
}

unsigned bx_fake_submit_count(const struct bx_fake_submit *f, enum bx_op op)
{
	const cJSON *cmd;
	unsigned n = 0;

	cJSON_ArrayForEach(cmd, f->log) n += is_op(cmd, op);
	return n;
}

const cJSON *bx_fake_submit_find(const struct bx_fake_submit *f, enum bx_op op, unsigned n)
{
	const cJSON *cmd;

	cJSON_ArrayForEach(cmd, f->log) if (is_op(cmd, op) && n-- == 0) return cmd;
	return NULL;
}

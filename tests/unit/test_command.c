/* test_command.c - the op list (raft/ops.h), its validation and typed constructors. */
#include "raft/command.h"
#include "src/base/error.h"
#include "tests/unit/harness.h"

#include <stdio.h>

TEST(everyOpNameRoundTripsAndItsKindFollowsItsPrefix)
{
	for (int i = 0; i < BX_OP_COUNT; i++) {
		enum bx_op op = (enum bx_op)i, found;
		const char *name = bx_op_name(op);
		ASSERT_MSG(bx_op_find(name, &found) == BX_OK, "op %d '%s' not found", i,
			   name);
		ASSERT_INT(found, op);
		ASSERT_INT(bx_op_is_service(op), strncmp(name, "service.", 8) == 0);
		ASSERT_INT(bx_op_is_node(op), strncmp(name, "node.", 5) == 0);
	}
	ASSERT_STR(bx_op_name(BX_OP_RESTORE), BX_OP_RESTORE_NAME);
	ASSERT(!bx_op_is_service(BX_OP_RESTORE) && !bx_op_is_node(BX_OP_RESTORE));
	enum bx_op op;
	ASSERT_INT(bx_op_find("service.puts", &op), BX_ENOENT);
	ASSERT_INT(bx_op_find(BX_OP_RESTORE_NAME, &op), BX_ENOENT);
}

/* cmd (taken) stamped and validated: its op, or the test fails with the message. */
static enum bx_op valid(cJSON *cmd)
{
	char msg[256] = "";
	const struct bx_command_op *op = NULL;
	int rv;

	ASSERT_MSG(cmd != NULL, "constructor returned NULL");
	ASSERT(!cJSON_HasObjectItem(cmd, "ts")); /* the proposer stamps it */
	cJSON_AddNumberToObject(cmd, "ts", 1000);
	rv = bx_command_validate(cmd, &op, msg, sizeof msg);
	cJSON_Delete(cmd);
	ASSERT_MSG(rv == BX_OK, "refused: %s", msg);
	return op->id;
}

TEST(everyConstructorBuildsACommandTheValidatorAccepts)
{
	static const char hash[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	bool seen[BX_OP_COUNT] = {false};
	cJSON *labels = cJSON_Parse("{\"zone\":\"a\"}"), *spec;
	struct bx_node_info node = {.id = 7, .name = "n7", .api = "10.0.0.7:7000",
				    .raft = "10.0.0.7:7001", .capacity = true,
				    .memory_mb = 4096, .vcpus = 4, .labels = labels,
				    .standby = true};
	struct bx_report report = {.name = "web@2", .node = 7, .generation = 3,
				   .state = "running", .pid = 4242, .restarts = 1,
				   .reason = "", .health = "healthy"};

	spec = cJSON_Parse("{\"service\":{\"name\":\"web\"}}");
	seen[valid(bx_cmd_cluster_init("abcd"))] = true;
	seen[valid(bx_cmd_cluster_confirm())] = true;
	seen[valid(bx_cmd_node_upsert(&node))] = true;
	seen[valid(bx_cmd_node_drain(7, true))] = true;
	seen[valid(bx_cmd_node_remove(7))] = true;
	seen[valid(bx_cmd_node_down(7))] = true;
	seen[valid(bx_cmd_node_up(7))] = true;
	seen[valid(bx_cmd_invite_create("0123abcd", hash, "voter", 2, 5000))] = true;
	seen[valid(bx_cmd_invite_revoke("0123abcd"))] = true;
	seen[valid(bx_cmd_invite_use("0123abcd", hash, 7))] = true;
	seen[valid(bx_cmd_token_create("00112233aabbccdd", hash, "read", "ci", "local"))] =
	    true;
	seen[valid(bx_cmd_token_revoke("00112233aabbccdd"))] = true;
	seen[valid(bx_cmd_service_put("web", spec, true))] = true;
	seen[valid(bx_cmd_service_start("web"))] = true;
	seen[valid(bx_cmd_service_stop("web"))] = true;
	seen[valid(bx_cmd_service_delete("web"))] = true;
	seen[valid(bx_cmd_service_assign("web", 7, 2, NULL))] = true;
	seen[valid(bx_cmd_service_migrate("web", 7, 2))] = true;
	seen[valid(bx_cmd_service_wait("web", 2, "no room"))] = true;
	seen[valid(bx_cmd_service_report(&report))] = true;
	cJSON_Delete(labels);
	for (int i = 0; i < BX_OP_COUNT; i++)
		ASSERT_MSG(seen[i], "no constructor tested for %s", bx_op_name((enum bx_op)i));
}

TEST(constructorsCarryTheirFieldsAndLeaveOutWhatIsNotGiven)
{
	struct bx_node_info bare = {.id = 3, .raft = "h:1"};
	cJSON *cmd = bx_cmd_node_upsert(&bare);

	ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "op")), "node.upsert");
	ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "name")), "");
	ASSERT(!cJSON_HasObjectItem(cmd, "memory_mb"));
	ASSERT(!cJSON_HasObjectItem(cmd, "labels"));
	ASSERT(!cJSON_HasObjectItem(cmd, "standby"));
	cJSON_Delete(cmd);

	cmd = bx_cmd_service_assign("db", 4, 9, "moved: it failed on node 2");
	ASSERT_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cmd, "node")), 4);
	ASSERT_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cmd, "expect_generation")), 9);
	ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "reason")),
		   "moved: it failed on node 2");
	cJSON_Delete(cmd);
	cmd = bx_cmd_service_assign("db", 4, 9, NULL);
	ASSERT(!cJSON_HasObjectItem(cmd, "reason"));
	cJSON_Delete(cmd);

	cmd = bx_cmd_token_create("00112233aabbccdd", "h", "admin", "", NULL);
	ASSERT(!cJSON_HasObjectItem(cmd, "created_by"));
	cJSON_Delete(cmd);
}

TEST(aCheckAcrossFieldsNamesItsOp)
{
	char msg[256] = "";
	cJSON *cmd = bx_cmd_service_put("web", cJSON_Parse("{\"service\":{\"name\":\"db\"}}"),
					true);

	cJSON_AddNumberToObject(cmd, "ts", 1);
	ASSERT_INT(bx_command_validate(cmd, NULL, msg, sizeof msg), BX_EINVAL);
	ASSERT_STR(msg, "service.put: spec's service.name must be \"web\"");
	cJSON_Delete(cmd);
}

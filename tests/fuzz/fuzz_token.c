/* fuzz_token.c - libFuzzer target: API tokens as the daemon gets them, the
 * Authorization header of every TCP request: bx_token_parse, then
 * bx_token_check against a store that holds one token. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/error.h"
#include "src/model/token.h"
#include "src/store/store.h"
#include "src/store/token_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bx_store *store;
static char dir[] = "/tmp/bx-fuzz-token-XXXXXX";
static char known[BX_TOKEN_LEN + 1]; /* the store's one token, an admin's */

static void remove_store(void)
{
	char path[sizeof dir + 16];

	bx_store_close(store);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char hash[BX_TOKEN_SECRET_LEN + 1], err[BX_ERRMSG_SIZE];
	struct bx_store_txn *txn;
	cJSON *rec = cJSON_CreateObject();

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL || bx_store_open(dir, NULL, &store, err) != 0 ||
	    bx_token_new(id, secret) != 0)
		abort();
	atexit(remove_store);
	bx_token_hash(secret, hash);
	cJSON_AddStringToObject(rec, "id", id);
	cJSON_AddStringToObject(rec, "role", "admin");
	cJSON_AddStringToObject(rec, "secret_hash", hash);
	if (bx_store_begin(store, &txn) != 0 || bx_store_put_token(txn, id, rec) != 0 ||
	    bx_store_commit(txn, 1) != 0)
		abort();
	cJSON_Delete(rec);
	bx_token_format(id, secret, known);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char tok[BX_TOKEN_LEN + 1], role[BX_TOKEN_ROLE_SIZE], err[BX_ERRMSG_SIZE];
	char *s = malloc(size + 1);
	int parsed, checked;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = '\0';
	parsed = bx_token_parse(s, id, secret, err);
	if (parsed == 0) {
		/* what parses formats to a token that parses to the same */
		char id2[BX_TOKEN_ID_LEN + 1], secret2[BX_TOKEN_SECRET_LEN + 1];
		bx_token_format(id, secret, tok);
		if (!bx_token_id_valid(id) || !bx_token_hash_valid(secret) ||
		    bx_token_parse(tok, id2, secret2, err) != 0 || strcmp(id, id2) != 0 ||
		    strcmp(secret, secret2) != 0)
			abort();
	} else if (parsed != BX_EINVAL || err[0] == '\0' || id[0] != '\0' ||
		   secret[0] != '\0') {
		abort(); /* refused: said why, kept nothing */
	}
	checked = bx_token_check(store, s, role, err);
	/* only the one token passes, as an admin; a malformed one fails as it parsed */
	if ((checked == 0) != (parsed == 0 && strcmp(tok, known) == 0) ||
	    (checked == 0 && strcmp(role, "admin") != 0) ||
	    (checked != 0 && (role[0] != '\0' || (parsed != 0 && checked != parsed))))
		abort();
	free(s);
	return 0;
}

/* cli_table.c - aligned text tables for the CLI's human output. */
#include "src/cli/cli_table.h"

#include <stdlib.h>
#include <string.h>

static void add(struct bx_table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **grown =
		    realloc(t->cells, sizeof *grown * (size_t)cap * (size_t)t->cols);
		if (grown == NULL)
			return; /* out of memory: the row is dropped, output stays
				   well-formed */
		t->cells = grown;
		t->cap = cap;
	}
	for (int c = 0; c < t->cols; c++)
		t->cells[t->rows * t->cols + c] = strdup(cells[c] ? cells[c] : "");
	t->rows++;
}

void bx_table_init(struct bx_table *t, int cols, const char *const *header)
{
	memset(t, 0, sizeof *t);
	t->cols = cols > BX_TABLE_MAX_COLS ? BX_TABLE_MAX_COLS : cols;
	add(t, header);
}

void bx_table_row(struct bx_table *t, const char *const *cells)
{
	add(t, cells);
}

void bx_table_print(const struct bx_table *t, FILE *out)
{
	size_t width[BX_TABLE_MAX_COLS] = {0};

	for (int r = 0; r < t->rows; r++)
		for (int c = 0; c < t->cols; c++) {
			const char *s = t->cells[r * t->cols + c];
			size_t n = s ? strlen(s) : 0;
			if (n > width[c])
				width[c] = n;
		}
	for (int r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->cols; c++) {
			const char *s = t->cells[r * t->cols + c];
			if (c == t->cols - 1)
				fprintf(out, "%s", s ? s : "");
			else
				fprintf(out, "%-*s  ", (int)width[c], s ? s : "");
		}
		fputc('\n', out);
	}
}

void bx_table_free(struct bx_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

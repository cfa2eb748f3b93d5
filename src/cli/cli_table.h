/* cli_table.h - aligned text tables for the CLI's human output. */
#ifndef BX_CLI_TABLE_H
#define BX_CLI_TABLE_H

#include <stdio.h>

#define BX_TABLE_MAX_COLS 10

/* Cells are copied; the table grows as rows are added. */
struct bx_table {
	int cols;
	int rows;
	char **cells; /* rows * cols, row 0 is the header */
	int cap;
};

void bx_table_init(struct bx_table *t, int cols, const char *const *header);
/* Add a row of `cols` printf-formatted cells: each argument is one cell string. */
void bx_table_row(struct bx_table *t, const char *const *cells);
void bx_table_print(const struct bx_table *t, FILE *out);
void bx_table_free(struct bx_table *t);

#endif

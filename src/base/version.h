/* version.h - the one place the version is written. */
#ifndef BX_VERSION_H
#define BX_VERSION_H
#define BX_VERSION "0.1.0"
#endif

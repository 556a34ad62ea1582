/* The changelog's record format, shared by the engine (streams/changelog.c
 * writes, streams/restore.c reads) and `eddy reset` (server/reset.c).
 * docs/scale-out.md, "Changelog and restoration". */
#ifndef ED_STREAMS_CHANGELOG_H
#define ED_STREAMS_CHANGELOG_H

/* Changelog records (streams/changelog.c): a row's header ED_CL_POS holds
 * the expiry it drops and the one it sets (8 bytes each) and the commit's
 * next input offset per source slot (1 byte count, 8 bytes each); a
 * commit ends with a marker record (header ED_CL_MARKER, key ED_CL_MARKER_KEY)
 * whose value holds the commit's metadata (offsets, stream time,
 * duplicate filter). */
#define ED_CL_POS "eddy.pos"
#define ED_CL_MARKER "eddy.marker"
#define ED_CL_MARKER_KEY "\0eddy.commit"
#define ED_CL_MARKER_KEY_LEN 12
#define ED_STORE_META_CHANGELOG "changelog"
/* `eddy reset` writes a record with this header (key ED_CL_RESET_KEY) to
 * every partition of the changelog: a restore drops what came before. */
#define ED_CL_RESET "eddy.reset"
#define ED_CL_RESET_KEY "\0eddy.reset"
#define ED_CL_RESET_KEY_LEN 11

#endif

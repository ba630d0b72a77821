// Imported first by the entry points, before Agenda loads `debug`: without DEBUG_COLORS, `debug`
// asks isatty(stderr) (a system call) each time a logger is made, and Agenda makes one per job
// step (`log.extend(...)`): 1.4 s of a sale's service CPU in the issue-13 profile. Debug output
// (DEBUG=agenda:*) is then plain text; DEBUG_COLORS=true brings colours back.
process.env.DEBUG_COLORS ??= 'false'

/*
 * tools/hpcvirt/fd-limit.h - raising the open-file limit (fd-limit.c).
 */
#ifndef HV_TOOL_FD_LIMIT_H
#define HV_TOOL_FD_LIMIT_H

/*
 * Raise the soft RLIMIT_NOFILE towards `want` (past the hard limit where the
 * process may); the limit in force afterwards (0 when it cannot be read).
 */
unsigned long long hv_tool_raise_fd_limit(unsigned long long want);

#endif

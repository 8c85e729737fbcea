/*
 * tools/hpcvirt/fd-limit.c - the open-file limit raised for commands that
 * hold many VMs at once (each clone keeps a few descriptors: its VM, its
 * vCPUs, its memory); shared with bench/bench-clone.c.
 */
#include "fd-limit.h"

#include <sys/resource.h>

unsigned long long hv_tool_raise_fd_limit(unsigned long long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur >= want)
        return (unsigned long long)rl.rlim_cur;
    if (rl.rlim_max < want) {
        /* root may go past the hard limit */
        struct rlimit more = {(rlim_t)want, (rlim_t)want};

        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return want;
    }
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : (rlim_t)want;
    setrlimit(RLIMIT_NOFILE, &rl);
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0;
}

/* USDT probes (visible to perf probe / bpftrace as sdt_uimap:*); no-ops without sys/sdt.h. */
#ifndef CORE_PROBES_H
#define CORE_PROBES_H

#if defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define UIMAP_HAVE_SDT 1
#endif
#endif

#ifdef UIMAP_HAVE_SDT
#define PROBE0(name) DTRACE_PROBE(uimap, name)
#define PROBE1(name, a) DTRACE_PROBE1(uimap, name, a)
#define PROBE2(name, a, b) DTRACE_PROBE2(uimap, name, a, b)
#else
#define PROBE0(name) do { } while (0)
#define PROBE1(name, a) do { (void)(a); } while (0)
#define PROBE2(name, a, b) do { (void)(a); (void)(b); } while (0)
#endif

#endif

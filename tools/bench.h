/* `kvw bench`: the benchmark runner of the kvw tool (bench.c). */
#ifndef KVW_TOOLS_BENCH_H
#define KVW_TOOLS_BENCH_H

/* Parses its own options from the whole command line (argv[0] is the
 * program, "bench" is the first non-option argument) and returns the exit
 * status: 0 done, 1 failed, 2 bad usage. */
int bench_main(int argc, char **argv);

#endif

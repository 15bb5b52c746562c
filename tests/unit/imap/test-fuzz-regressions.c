/* Runs one libFuzzer harness (tests/fuzz/fuzz-FUZZ_HARNESS.c, compiled into this test
   without libFuzzer) over its seed corpus tests/fuzz/corpus/FUZZ_HARNESS and every kept
   crash input tests/fuzz/regressions/FUZZ_HARNESS, so they stay fixed. Built once per
   harness (tests/unit/meson.build). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_HARNESS
#define FUZZ_HARNESS "parser"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f, "cannot open %s", path);
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0;
		for (;;) {
			if (len == cap) {
				cap = cap ? cap * 2 : 4096;
				buf = realloc(buf, cap);
			}
			size_t k = fread(buf + len, 1, cap - len, f);
			if (k == 0)
				break;
			len += k;
		}
		fclose(f);
		/* a failing input aborts inside the harness: the test reports the signal */
		fprintf(stderr, "fuzz input %s (%zu bytes)\n", path, len);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

Test(fuzz_regressions, corpus)
{
	cr_assert_gt(run_dir(FUZZ_DIR "/corpus/" FUZZ_HARNESS), 0, "seed corpus missing");
}

Test(fuzz_regressions, kept_crashes)
{
	run_dir(FUZZ_DIR "/regressions/" FUZZ_HARNESS);
}

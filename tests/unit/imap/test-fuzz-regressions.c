/* Runs the parser fuzz harness over its seed corpus and every kept crash input
   (tests/fuzz/corpus/parser, tests/fuzz/regressions), so they stay fixed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	cr_assert_gt(run_dir(FUZZ_DIR "/corpus/parser"), 0, "seed corpus missing");
}

Test(fuzz_regressions, kept_crashes)
{
	run_dir(FUZZ_DIR "/regressions");
}

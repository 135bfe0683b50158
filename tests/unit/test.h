/*
 * A minimal test harness: CHECK() records a failure with its location and
 * goes on; TEST_MAIN runs the listed tests and prints "N passed, N failed".
 */
#ifndef BPFX_TEST_H
#define BPFX_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			test_failed_checks++;                                  \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b) {                                                \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",      \
				__FILE__, __LINE__, #a, _a, _b);               \
			test_failed_checks++;                                  \
		}                                                              \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

static inline int test_run_all(const struct test_case *tests, int n)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		int before = test_failed_checks;
		tests[i].fn();
		if (test_failed_checks == before) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define TEST(name) {#name, name}
#define TEST_MAIN(...)                                                         \
	int main(void)                                                         \
	{                                                                      \
		static const struct test_case tests[] = {__VA_ARGS__};         \
		return test_run_all(tests,                                     \
				    sizeof(tests) / sizeof(tests[0]));         \
	}

#endif

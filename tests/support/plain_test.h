// plain_test.h: a tiny harness for test suites that must build and run without Qt (the GPU
// machine has none): the GPU suites and tst_verify. Qt Test's habits, plain C++:
//   PT_TEST(name) { ... }            a test function, registered at start-up
//   PT_VERIFY(cond), PT_VERIFY2(cond, message), PT_COMPARE(actual, expected)
//   PT_SKIP("no CUDA device")        like QSKIP: the test counts as skipped
//   PT_FAIL("why")                   like QFAIL
//   PT_MAIN()                        runs every test (or those named on the command line)
// The program exits 1 when a test failed, 2 when a name on the command line names no test
// (a filter that selects nothing must not pass), 77 when every test skipped (CTest's
// SKIP_RETURN_CODE, so `ctest` shows it as skipped), 0 otherwise.
#pragma once

#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

namespace plain_test {

struct Skip {
    std::string why;
};
struct Failure {
    std::string what;
};

struct Case {
    const char* name;
    void (*fn)();
};

inline std::vector<Case>& cases()
{
    static std::vector<Case> all;
    return all;
}

struct Register {
    Register(const char* name, void (*fn)()) { cases().push_back({name, fn}); }
};

template <class A, class B>
void compare(const A& actual, const B& expected, const char* a, const char* b, const char* file, int line)
{
    if (actual == expected)
        return;
    std::ostringstream o;
    o << "compared values are not the same\n   actual   (" << a << "): " << actual << "\n   expected (" << b
      << "): " << expected << "\n   at " << file << ":" << line;
    throw Failure{o.str()};
}

inline int run_all(int argc, char** argv)
{
    int unknown = 0;
    for (int i = 1; i < argc; ++i) {
        bool known = false;
        for (const Case& c : cases())
            known |= std::string(argv[i]) == c.name;
        if (!known) {
            std::printf("FAIL!  : no test named '%s'; the tests are:\n", argv[i]);
            ++unknown;
        }
    }
    if (unknown > 0) {
        for (const Case& c : cases())
            std::printf("  %s\n", c.name);
        return 2;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (const Case& c : cases()) {
        bool wanted = argc <= 1;
        for (int i = 1; i < argc; ++i)
            wanted |= std::string(argv[i]) == c.name;
        if (!wanted)
            continue;
        std::fflush(stdout);
        try {
            c.fn();
            std::printf("PASS   : %s\n", c.name);
            ++passed;
        } catch (const Skip& s) {
            std::printf("SKIP   : %s: %s\n", c.name, s.why.c_str());
            ++skipped;
        } catch (const Failure& f) {
            std::printf("FAIL!  : %s: %s\n", c.name, f.what.c_str());
            ++failed;
        } catch (const std::exception& e) {
            std::printf("FAIL!  : %s: threw %s\n", c.name, e.what());
            ++failed;
        }
        std::fflush(stdout);
    }
    std::printf("Totals: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (passed + failed + skipped == 0) {
        std::printf("FAIL!  : no test ran\n");
        return 2;
    }
    if (failed > 0)
        return 1;
    return passed == 0 && skipped > 0 ? 77 : 0;
}

} // namespace plain_test

#define PT_TEST(name)                                                                                          \
    static void name();                                                                                        \
    static const ::plain_test::Register name##_registered(#name, name);                                       \
    static void name()

#define PT_VERIFY2(cond, message)                                                                              \
    do {                                                                                                       \
        if (!(cond))                                                                                           \
            throw ::plain_test::Failure{std::string("'" #cond "' returned false: ") + (message) + "\n   at "  \
                                        + __FILE__ + ":" + std::to_string(__LINE__)};                          \
    } while (0)

#define PT_VERIFY(cond) PT_VERIFY2(cond, std::string(""))

#define PT_COMPARE(actual, expected) ::plain_test::compare((actual), (expected), #actual, #expected, __FILE__, __LINE__)

#define PT_SKIP(why) throw ::plain_test::Skip{why}

#define PT_FAIL(why) throw ::plain_test::Failure{std::string(why) + "\n   at " + __FILE__ + ":" + std::to_string(__LINE__)}

#define PT_MAIN()                                                                                              \
    int main(int argc, char** argv) { return ::plain_test::run_all(argc, argv); }

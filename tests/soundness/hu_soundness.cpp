// hu-soundness: the soundness harness for long runs.
//   hu-soundness --programs 10000000 --seed 1 [--every 100000]
// Generates random programs, verifies each, and runs every accepted one
// three times in the sim's interpreter (tests/soundness/README.md). Stops
// at the first failure, printing the program; exit status 1 then, else 0.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "generator.hpp"
#include "runner.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Soundness harness: random programs against the verifier and the interpreter"};
  uint64_t programs = 1'000'000, seed = 1, every = 100'000;
  int size = 40;
  app.add_option("--programs", programs, "how many programs to generate")->capture_default_str();
  app.add_option("--seed", seed, "generator seed; program i uses seed + i for its data")
      ->capture_default_str();
  app.add_option("--size", size, "largest main body, in instructions")->capture_default_str();
  app.add_option("--every", every, "print progress every N programs")->capture_default_str();
  bool reasons = false;
  app.add_flag("--reasons", reasons, "at the end, count the verifier's rejections by reason");
  CLI11_PARSE(app, argc, argv);

  hu::soundness::Runner runner;
  hu::soundness::Generator gen(seed, runner.environment());
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, uint64_t> rejected;
  auto report = [&](uint64_t done) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& st = runner.stats();
    std::printf(
        "%llu programs, %llu accepted (%llu helpers, %llu local calls, %llu loops), %llu runs, "
        "%.0f s, %.0f programs/s\n",
        static_cast<unsigned long long>(done), static_cast<unsigned long long>(st.accepted),
        static_cast<unsigned long long>(st.helper_calls),
        static_cast<unsigned long long>(st.local_calls), static_cast<unsigned long long>(st.loops),
        static_cast<unsigned long long>(st.runs), s, s > 0 ? static_cast<double>(done) / s : 0.0);
    std::fflush(stdout);
  };
  for (uint64_t i = 0; i < programs; i++) {
    hu::soundness::Generated g = gen.Make(8 + static_cast<int>(i % static_cast<uint64_t>(size)));
    hu::soundness::Outcome o = runner.Check(g, seed + i);
    if (o.kind == hu::soundness::Outcome::Kind::kFailed) {
      std::printf("FAILED at program %llu (hook %s): %s\n%s", static_cast<unsigned long long>(i),
                  hu::verifier::HookName(g.hook), o.why.c_str(), g.text.c_str());
      report(i + 1);
      return 1;
    }
    if (reasons && o.kind == hu::soundness::Outcome::Kind::kRejected) {
      // "insn N `text`: reason: registers" -> reason
      std::string why = o.why;
      if (auto p = why.find("`: "); p != std::string::npos) why = why.substr(p + 3);
      why = why.substr(0, why.find(": "));
      for (char& c : why)
        if (c >= '0' && c <= '9') c = 'N';
      rejected[why]++;
    }
    if ((i + 1) % every == 0) report(i + 1);
  }
  report(programs);
  std::multimap<uint64_t, std::string, std::greater<>> by_count;
  for (const auto& [why, n] : rejected) by_count.emplace(n, why);
  for (const auto& [n, why] : by_count)
    std::printf("%8llu  %s\n", static_cast<unsigned long long>(n), why.c_str());
  return 0;
}

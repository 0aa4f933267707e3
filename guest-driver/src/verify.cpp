#include "hyperupcall/guest/verify.hpp"

#include <cstdio>

#include "hyperupcall/guest/hooks.hpp"
#include "hyperupcall/guest/source.hpp"

namespace hu::guest {
namespace {

// Resolves through `inner` where it can; anything else gets a placeholder
// in the kernel's address range, and its name is kept for the report.
class PlaceholderSymbols : public SymbolResolver {
 public:
  explicit PlaceholderSymbols(SymbolResolver* inner) : inner_(inner) {}
  Result<uint64_t> Resolve(std::string_view name) override {
    if (inner_) {
      auto r = inner_->Resolve(name);
      if (r) return r;
    }
    missing_.emplace_back(name);
    return 0xffffffff81000000ull + 0x1000 * missing_.size();
  }
  std::string Source() const override {
    return inner_ ? inner_->Source() + " (placeholders for the rest)" : "placeholders";
  }
  std::vector<std::string> TakeMissing() { return std::move(missing_); }

 private:
  SymbolResolver* inner_;
  std::vector<std::string> missing_;
};

}  // namespace

Result<std::vector<VerifiedProgram>> VerifyObject(const BpfObject& obj, const VerifyOptions& opts,
                                                  SymbolResolver* ksyms) {
  hu_hook_id forced = HU_HOOK_NONE;
  if (!opts.hook.empty()) {
    forced = HookFromName(opts.hook);
    if (forced == HU_HOOK_NONE)
      return MakeError(ErrorCode::kInvalidArgument,
                       "--hook '" + opts.hook + "' is not a hook; hooks are " + HookNameList());
  }
  std::vector<ProgramInfo> selected;
  for (const auto& p : obj.programs())
    if (opts.prog.empty() || p.name == opts.prog) selected.push_back(p);
  if (selected.empty())
    return MakeError(
        ErrorCode::kNotFound,
        obj.origin() + (opts.prog.empty() ? " has no program in SEC(\"hyperupcall/<hook>\")"
                                          : " has no program '" + opts.prog + "'"));
  std::vector<VerifiedProgram> out;
  for (const auto& info : selected) {
    VerifiedProgram v;
    v.hook = forced != HU_HOOK_NONE ? forced : info.hook;
    if (v.hook == HU_HOOK_NONE)
      return MakeError(
          ErrorCode::kInvalidArgument,
          "program '" + info.name + "' is in SEC(\"hyperupcall\") without a hook: give --hook");
    PlaceholderSymbols syms(ksyms);
    auto prog = obj.Link(info.name, &syms);
    if (!prog) return prog.error();
    v.program = std::move(prog).value();
    v.placeholder_ksyms = syms.TakeMissing();
    verifier::Options vo;
    vo.hook = v.hook;
    for (const auto& m : v.program.maps) vo.maps.push_back(m.def);
    vo.log_level = opts.log_level;
    if (opts.budget) vo.max_states = opts.budget;
    v.report = verifier::Verify(v.program.insns, vo);
    v.log = opts.log_level >= 2 ? AnnotateLog(v.program, v.report.log) : v.report.log;
    out.push_back(std::move(v));
  }
  return out;
}

std::string RejectionNotes(const Program& p, int64_t pc) {
  std::string s;
  if (std::string w = WhereNote(p, pc); !w.empty()) s += "  " + w + "\n";
  if (std::string l = SourceLineNote(p, pc); !l.empty()) s += "  " + l + "\n";
  return s;
}

std::string VerdictText(const VerifiedProgram& v) {
  char head[256];
  std::snprintf(head, sizeof head, "%s (%s, %zu insns): ", v.program.info.name.c_str(),
                HookName(v.hook), v.program.insns.size());
  std::string s = head;
  if (v.report.accepted) {
    char tail[128];
    std::snprintf(tail, sizeof tail, "accepted, %llu insns processed in %.2f ms\n",
                  static_cast<unsigned long long>(v.report.insns_processed), v.report.elapsed_ms);
    s += tail;
  } else {
    s += "rejected: " + v.report.error + "\n" + RejectionNotes(v.program, v.report.error_pc);
  }
  if (!v.placeholder_ksyms.empty()) {
    s += "  (kernel symbols without an address here, verified as placeholders:";
    for (const auto& k : v.placeholder_ksyms) s += " " + k;
    s += ")\n";
  }
  if (!v.program.line_info_problem.empty())
    s += "  (no source lines: " + v.program.line_info_problem + ")\n";
  return s;
}

}  // namespace hu::guest

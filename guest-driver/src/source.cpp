#include "hyperupcall/guest/source.hpp"

#include <cstdlib>
#include <sstream>

namespace hu::guest {
namespace {

const SourceLine* LineOf(const Program& p, int64_t pc) {
  if (pc < 0 || static_cast<size_t>(pc) >= p.origins.size()) return nullptr;
  int32_t l = p.origins[static_cast<size_t>(pc)].line;
  return l < 0 || static_cast<size_t>(l) >= p.lines.size() ? nullptr : &p.lines[l];
}

}  // namespace

std::string SourceLineNote(const Program& p, int64_t pc) {
  const SourceLine* l = LineOf(p, pc);
  if (!l) return "";
  return "; " + l->text + " @ " + l->file + ":" + std::to_string(l->line);
}

std::string WhereNote(const Program& p, int64_t pc) {
  if (pc < 0 || static_cast<size_t>(pc) >= p.origins.size()) return "";
  uint32_t f = p.origins[static_cast<size_t>(pc)].function;
  std::string s = "in " + (f < p.functions.size() ? p.functions[f] : std::string("?")) + "()";
  if (const SourceLine* l = LineOf(p, pc)) s += " at " + l->file + ":" + std::to_string(l->line);
  return s;
}

std::string AnnotateLog(const Program& p, const std::string& log) {
  std::istringstream in(log);
  std::string out, line;
  const SourceLine* last = nullptr;
  while (std::getline(in, line)) {
    // "<pc>: <insn> ; <state>": a note when the source line changes.
    char* end = nullptr;
    long pc = std::strtol(line.c_str(), &end, 10);
    if (end != line.c_str() && *end == ':') {
      const SourceLine* l = LineOf(p, pc);
      if (l && l != last) out += SourceLineNote(p, pc) + "\n";
      last = l;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace hu::guest

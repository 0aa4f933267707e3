// Assembler for the conformance suite's text syntax, with labels. One pass
// encodes and records label references; a second pass patches them. Every
// error names the line and the offending token.
#include "hyperupcall/asm.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "mnemonics.hpp"

namespace hu {
namespace {

// A parsed integer literal: sign and magnitude, so every range check is exact.
struct Number {
  bool negative = false;
  uint64_t magnitude = 0;
};

std::optional<Number> ParseNumber(std::string_view s) {
  Number n;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    n.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n.magnitude, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// Value of `n` if it lies in [lo, hi] (hi as unsigned), as two's complement.
std::optional<uint64_t> InRange(const Number& n, uint64_t neg_limit, uint64_t pos_limit) {
  if (n.negative) {
    if (n.magnitude > neg_limit) return std::nullopt;
    return 0 - n.magnitude;
  }
  if (n.magnitude > pos_limit) return std::nullopt;
  return n.magnitude;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  };
  if (!head(s[0])) return false;
  for (char c : s) {
    if (!head(c) && !std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Splits a line into tokens: whitespace and commas separate, a bracketed
// memory operand stays one token with its spaces removed, '#' starts a
// comment.
std::vector<std::string> Tokenize(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string> tokens;
  std::string cur;
  bool in_brackets = false;
  for (char c : line) {
    if (c == '[') in_brackets = true;
    if (c == ']') in_brackets = false;
    bool sep = !in_brackets && (c == ',' || std::isspace(static_cast<unsigned char>(c)));
    if (in_brackets && std::isspace(static_cast<unsigned char>(c))) continue;
    if (sep) {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

struct LabelRef {
  size_t slot;
  std::string label;
  int line;
  bool in_imm;  // call local / ja32 keep the offset in imm, others in off
};

class Assembler {
 public:
  Result<std::vector<hu_insn>> Run(std::string_view text) {
    int line_no = 0;
    while (!text.empty()) {
      ++line_no;
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      line_ = line_no;
      if (auto st = Line(Tokenize(line)); !st.ok()) return st.error();
    }
    if (auto st = Resolve(); !st.ok()) return st.error();
    return std::move(out_);
  }

 private:
  Error Fail(const std::string& what) const {
    return MakeError(ErrorCode::kInvalidArgument, "line " + std::to_string(line_) + ": " + what);
  }
  Error Fail(const std::string& what, std::string_view token) const {
    return Fail(what + " '" + std::string(token) + "'");
  }

  Status Line(std::vector<std::string> tokens) {
    // Leading "name:" tokens define labels at the next slot.
    while (!tokens.empty() && tokens.front().size() > 1 && tokens.front().back() == ':') {
      std::string name = tokens.front().substr(0, tokens.front().size() - 1);
      if (!IsIdentifier(name)) return Fail("bad label name", name);
      if (auto it = labels_.find(name); it != labels_.end()) {
        return Fail("label '" + name + "' already defined on line " +
                    std::to_string(it->second.line));
      }
      labels_[name] = {out_.size(), line_};
      tokens.erase(tokens.begin());
    }
    if (tokens.empty()) return Status::Ok();
    const std::string mnemonic = tokens.front();
    tokens.erase(tokens.begin());
    return Instruction(mnemonic, tokens);
  }

  Status Instruction(const std::string& m, const std::vector<std::string>& ops) {
    if (m == ".invalid") return Raw(ops);
    if (m == "exit") {
      if (!first_exit_) first_exit_ = out_.size();
      return Emit(m, ops, 0, HU_CLS_JMP | HU_JMP_EXIT);
    }
    if (m == "ja" || m == "ja32") return Ja(m, ops);
    if (m == "call") return Call(ops);
    if (m == "lddw") return Lddw(ops);
    if (m == "lock") return Lock(ops);
    if (m.starts_with("ldx") || m.starts_with("st")) return LoadStore(m, ops);
    if (m.starts_with("be") || m.starts_with("le") || m.starts_with("bswap") ||
        m.starts_with("swap")) {
      return End(m, ops);
    }
    if (m.starts_with("movsx")) return Movsx(m, ops);
    if (m.starts_with("j")) return Jcc(m, ops);
    return Alu(m, ops);
  }

  Status Count(const std::string& m, const std::vector<std::string>& ops, size_t n) {
    if (ops.size() == n) return Status::Ok();
    return Fail("'" + m + "' takes " + std::to_string(n) + " operand(s), got " +
                std::to_string(ops.size()));
  }

  Status Emit(const std::string& m, const std::vector<std::string>& ops, size_t n, uint8_t code) {
    if (auto st = Count(m, ops, n); !st.ok()) return st;
    hu_insn insn{};
    insn.code = code;
    out_.push_back(insn);
    return Status::Ok();
  }

  Result<uint8_t> Register(std::string_view tok) {
    if (!tok.starts_with("%r")) return Fail("expected a register like %r1, got", tok);
    auto n = ParseNumber(tok.substr(2));
    // The field holds 0..15; r11..r15 assemble so that negative tests can
    // be written, and ValidateInsn rejects them.
    if (!n || n->negative || n->magnitude > 15 || tok.size() < 3 || tok[2] == '+') {
      return Fail("bad register", tok);
    }
    return static_cast<uint8_t>(n->magnitude);
  }

  Result<int32_t> Imm32(std::string_view tok) {
    auto n = ParseNumber(tok);
    if (!n) return Fail("expected an immediate, got", tok);
    auto v = InRange(*n, 0x80000000ull, 0xffffffffull);
    if (!v) return Fail("immediate out of 32-bit range", tok);
    return static_cast<int32_t>(static_cast<uint32_t>(*v));
  }

  Result<int16_t> Off16(std::string_view tok, std::string_view whole) {
    auto n = ParseNumber(tok);
    if (!n) return Fail("bad offset in", whole);
    auto v = InRange(*n, 0x8000, 0xffff);
    if (!v) return Fail("offset out of 16-bit range in", whole);
    return static_cast<int16_t>(static_cast<uint16_t>(*v));
  }

  // [%rN], [%rN+off], [%rN-off]
  Status Memory(std::string_view tok, uint8_t* reg, int16_t* off) {
    if (tok.size() < 4 || tok.front() != '[' || tok.back() != ']') {
      return Fail("expected a memory operand like [%r1+8], got", tok);
    }
    std::string_view inner = tok.substr(1, tok.size() - 2);
    size_t sign = inner.find_first_of("+-");
    auto r = Register(inner.substr(0, sign));
    if (!r.ok()) return r.error();
    *reg = *r;
    *off = 0;
    if (sign == std::string_view::npos) return Status::Ok();
    auto o = Off16(inner.substr(sign), tok);
    if (!o.ok()) return o.error();
    *off = *o;
    return Status::Ok();
  }

  // "+N"/"-N" is a relative offset; an identifier is a label patched later.
  Result<int32_t> Target(std::string_view tok, bool in_imm, int64_t limit) {
    if (tok.starts_with("+") || tok.starts_with("-")) {
      auto n = ParseNumber(tok);
      if (!n) return Fail("bad jump offset", tok);
      auto v = InRange(*n, static_cast<uint64_t>(limit) + 1, static_cast<uint64_t>(limit));
      if (!v) return Fail("jump offset out of range", tok);
      return static_cast<int32_t>(static_cast<int64_t>(*v));
    }
    if (!IsIdentifier(tok)) return Fail("expected a label or +offset, got", tok);
    refs_.push_back({out_.size(), std::string(tok), line_, in_imm});
    return 0;
  }

  Status Ja(const std::string& m, const std::vector<std::string>& ops) {
    if (auto st = Count(m, ops, 1); !st.ok()) return st;
    bool wide = m == "ja32";
    auto t = Target(ops[0], wide, wide ? INT32_MAX : INT16_MAX);
    if (!t.ok()) return t.error();
    hu_insn insn{};
    insn.code = (wide ? HU_CLS_JMP32 : HU_CLS_JMP) | HU_JMP_JA;
    if (wide) {
      insn.imm = *t;
    } else {
      insn.off = static_cast<int16_t>(*t);
    }
    out_.push_back(insn);
    return Status::Ok();
  }

  // .invalid 0x<slot>: what Disassemble prints for an invalid encoding.
  Status Raw(const std::vector<std::string>& ops) {
    if (auto st = Count(".invalid", ops, 1); !st.ok()) return st;
    auto n = ParseNumber(ops[0]);
    if (!n || n->negative) return Fail("expected a 64-bit slot, got", ops[0]);
    hu_insn insn{};
    insn.code = static_cast<uint8_t>(n->magnitude);
    insn.dst = (n->magnitude >> 8) & 0xf;
    insn.src = (n->magnitude >> 12) & 0xf;
    insn.off = static_cast<int16_t>(static_cast<uint16_t>(n->magnitude >> 16));
    insn.imm = static_cast<int32_t>(static_cast<uint32_t>(n->magnitude >> 32));
    out_.push_back(insn);
    return Status::Ok();
  }

  // call N | call helper N | call local <label|+off> | call %rN (callx)
  Status Call(std::vector<std::string> ops) {
    if (ops.size() == 2 && ops[0] == "helper") ops.erase(ops.begin());
    hu_insn insn{};
    insn.code = HU_CLS_JMP | HU_JMP_CALL;
    if (ops.size() == 2 && ops[0] == "local") {
      insn.src = HU_CALL_LOCAL;
      auto t = Target(ops[1], true, INT32_MAX);
      if (!t.ok()) return t.error();
      insn.imm = *t;
    } else if (ops.size() == 1 && ops[0].starts_with("%")) {
      auto r = Register(ops[0]);
      if (!r.ok()) return r.error();
      insn.code |= HU_SRC_X;
      insn.dst = *r;
    } else if (ops.size() == 1) {
      auto imm = Imm32(ops[0]);
      if (!imm.ok()) return imm.error();
      insn.imm = *imm;
    } else {
      return Fail("expected 'call N', 'call local <label>' or 'call %rN'");
    }
    out_.push_back(insn);
    return Status::Ok();
  }

  // lddw %rN, imm64 | map[idx] | map_value[idx]+off
  Status Lddw(const std::vector<std::string>& ops) {
    if (auto st = Count("lddw", ops, 2); !st.ok()) return st;
    auto r = Register(ops[0]);
    if (!r.ok()) return r.error();
    hu_insn lo{}, hi{};
    lo.code = HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW;
    lo.dst = *r;
    std::string_view v = ops[1];
    if (v.starts_with("map[") || v.starts_with("map_value[")) {
      bool value = v.starts_with("map_value[");
      size_t close = v.find(']');
      if (close == std::string_view::npos) return Fail("missing ']' in", v);
      size_t open = v.find('[');
      auto idx = ParseNumber(v.substr(open + 1, close - open - 1));
      if (!idx || idx->negative || idx->magnitude > UINT32_MAX) return Fail("bad map index in", v);
      lo.src = value ? HU_PSEUDO_MAP_IDX_VALUE : HU_PSEUDO_MAP_IDX;
      lo.imm = static_cast<int32_t>(static_cast<uint32_t>(idx->magnitude));
      std::string_view rest = v.substr(close + 1);
      if (!rest.empty()) {
        if (!value) return Fail("map[] takes no offset", v);
        auto off = Imm32(rest);
        if (!off.ok()) return off.error();
        hi.imm = *off;
      }
    } else {
      auto n = ParseNumber(v);
      if (!n) return Fail("expected a 64-bit immediate, got", v);
      auto val = InRange(*n, 1ull << 63, UINT64_MAX);
      if (!val) return Fail("immediate out of 64-bit range", v);
      lo.imm = static_cast<int32_t>(static_cast<uint32_t>(*val));
      hi.imm = static_cast<int32_t>(static_cast<uint32_t>(*val >> 32));
    }
    out_.push_back(lo);
    out_.push_back(hi);
    return Status::Ok();
  }

  // lock [fetch] add|or|and|xor|xchg|cmpxchg[32] [%rD+off], %rS
  Status Lock(std::vector<std::string> ops) {
    bool fetch = !ops.empty() && ops[0] == "fetch";
    if (fetch) ops.erase(ops.begin());
    if (ops.size() != 3) return Fail("expected 'lock [fetch] <op> [%rD+off], %rS'");
    std::string op = ops[0];
    bool is32 = op.ends_with("32");
    if (is32) op.resize(op.size() - 2);
    auto imm = mnemonics::AtomicImm(op);
    if (!imm) return Fail("unknown atomic operation", ops[0]);
    if (fetch) *imm |= HU_ATOMIC_FETCH;
    hu_insn insn{};
    insn.code = HU_CLS_STX | HU_MODE_ATOMIC | (is32 ? HU_SIZE_W : HU_SIZE_DW);
    insn.imm = *imm;
    uint8_t dst = 0;
    if (auto st = Memory(ops[1], &dst, &insn.off); !st.ok()) return st;
    insn.dst = dst;
    auto src = Register(ops[2]);
    if (!src.ok()) return src.error();
    insn.src = *src;
    out_.push_back(insn);
    return Status::Ok();
  }

  // ldx{b,h,w,dw} ldxs{b,h,w} st{b,h,w,dw} stx{b,h,w,dw}
  Status LoadStore(const std::string& m, const std::vector<std::string>& ops) {
    uint8_t cls, mode = HU_MODE_MEM;
    std::string_view rest = m;
    if (rest.starts_with("ldxs") && rest != "ldxs") {
      cls = HU_CLS_LDX;
      mode = HU_MODE_MEMSX;
      rest.remove_prefix(4);
    } else if (rest.starts_with("ldx")) {
      cls = HU_CLS_LDX;
      rest.remove_prefix(3);
    } else if (rest.starts_with("stx")) {
      cls = HU_CLS_STX;
      rest.remove_prefix(3);
    } else {
      cls = HU_CLS_ST;
      rest.remove_prefix(2);
    }
    auto size = mnemonics::SizeBits(rest);
    if (!size || (mode == HU_MODE_MEMSX && *size << 3 == HU_SIZE_DW)) {
      return Fail("unknown mnemonic", m);
    }
    if (auto st = Count(m, ops, 2); !st.ok()) return st;
    hu_insn insn{};
    insn.code = static_cast<uint8_t>(cls | mode | (*size << 3));
    uint8_t reg = 0;
    if (cls == HU_CLS_LDX) {
      auto d = Register(ops[0]);
      if (!d.ok()) return d.error();
      insn.dst = *d;
      if (auto st = Memory(ops[1], &reg, &insn.off); !st.ok()) return st;
      insn.src = reg;
    } else {
      if (auto st = Memory(ops[0], &reg, &insn.off); !st.ok()) return st;
      insn.dst = reg;
      if (cls == HU_CLS_STX) {
        auto s = Register(ops[1]);
        if (!s.ok()) return s.error();
        insn.src = *s;
      } else {
        auto imm = Imm32(ops[1]);
        if (!imm.ok()) return imm.error();
        insn.imm = *imm;
      }
    }
    out_.push_back(insn);
    return Status::Ok();
  }

  // le16/32/64, be16/32/64, bswap16/32/64 (also spelled swap16/32/64)
  Status End(const std::string& m, const std::vector<std::string>& ops) {
    std::string_view name = m, width;
    uint8_t code;
    if (name.starts_with("le")) {
      code = HU_CLS_ALU | HU_ALU_END | HU_SRC_K;
      width = name.substr(2);
    } else if (name.starts_with("be")) {
      code = HU_CLS_ALU | HU_ALU_END | HU_SRC_X;
      width = name.substr(2);
    } else {
      code = HU_CLS_ALU64 | HU_ALU_END | HU_SRC_K;
      width = name.substr(name.starts_with("bswap") ? 5 : 4);
    }
    if (width != "16" && width != "32" && width != "64") return Fail("unknown mnemonic", m);
    if (auto st = Count(m, ops, 1); !st.ok()) return st;
    auto r = Register(ops[0]);
    if (!r.ok()) return r.error();
    hu_insn insn{};
    insn.code = code;
    insn.dst = *r;
    insn.imm = width == "16" ? 16 : width == "32" ? 32 : 64;
    out_.push_back(insn);
    return Status::Ok();
  }

  // movsx<from><class>: movsx832 movsx1632 movsx864 movsx1664 movsx3264
  Status Movsx(const std::string& m, const std::vector<std::string>& ops) {
    static const std::map<std::string_view, std::pair<uint8_t, int16_t>> kForms = {
        {"movsx832", {HU_CLS_ALU, 8}},     {"movsx1632", {HU_CLS_ALU, 16}},
        {"movsx864", {HU_CLS_ALU64, 8}},   {"movsx1664", {HU_CLS_ALU64, 16}},
        {"movsx3264", {HU_CLS_ALU64, 32}},
    };
    auto it = kForms.find(m);
    if (it == kForms.end()) return Fail("unknown mnemonic", m);
    if (auto st = Count(m, ops, 2); !st.ok()) return st;
    auto d = Register(ops[0]);
    if (!d.ok()) return d.error();
    auto s = Register(ops[1]);
    if (!s.ok()) return s.error();
    hu_insn insn{};
    insn.code = it->second.first | HU_ALU_MOV | HU_SRC_X;
    insn.off = it->second.second;
    insn.dst = *d;
    insn.src = *s;
    out_.push_back(insn);
    return Status::Ok();
  }

  // Strips a "32" (32-bit class) or "64" suffix.
  static std::string_view Base(std::string_view m, bool* is32) {
    *is32 = false;
    if (m.ends_with("32")) {
      *is32 = true;
      return m.substr(0, m.size() - 2);
    }
    if (m.ends_with("64")) return m.substr(0, m.size() - 2);
    return m;
  }

  Status Source(std::string_view tok, hu_insn* insn) {
    if (tok.starts_with("%")) {
      auto s = Register(tok);
      if (!s.ok()) return s.error();
      insn->code |= HU_SRC_X;
      insn->src = *s;
      return Status::Ok();
    }
    auto imm = Imm32(tok);
    if (!imm.ok()) return imm.error();
    insn->imm = *imm;
    return Status::Ok();
  }

  Status Jcc(const std::string& m, const std::vector<std::string>& ops) {
    bool is32;
    auto op = mnemonics::JmpOp(Base(m, &is32));
    if (!op || m.ends_with("64")) return Fail("unknown mnemonic", m);
    if (auto st = Count(m, ops, 3); !st.ok()) return st;
    hu_insn insn{};
    insn.code = static_cast<uint8_t>((is32 ? HU_CLS_JMP32 : HU_CLS_JMP) | (*op << 4));
    auto d = Register(ops[0]);
    if (!d.ok()) return d.error();
    insn.dst = *d;
    if (auto st = Source(ops[1], &insn); !st.ok()) return st;
    auto t = Target(ops[2], false, INT16_MAX);
    if (!t.ok()) return t.error();
    insn.off = static_cast<int16_t>(*t);
    out_.push_back(insn);
    return Status::Ok();
  }

  Status Alu(const std::string& m, const std::vector<std::string>& ops) {
    bool is32;
    std::string_view name = Base(m, &is32);
    int16_t off = 0;
    if (name == "sdiv" || name == "smod") {
      off = 1;
      name.remove_prefix(1);
    }
    auto op = mnemonics::AluOp(name);
    if (!op) return Fail("unknown mnemonic", m);
    hu_insn insn{};
    insn.code = static_cast<uint8_t>((is32 ? HU_CLS_ALU : HU_CLS_ALU64) | (*op << 4));
    insn.off = off;
    const bool unary = (*op << 4) == HU_ALU_NEG;
    if (auto st = Count(m, ops, unary ? 1 : 2); !st.ok()) return st;
    auto d = Register(ops[0]);
    if (!d.ok()) return d.error();
    insn.dst = *d;
    if (!unary) {
      if (auto st = Source(ops[1], &insn); !st.ok()) return st;
    }
    out_.push_back(insn);
    return Status::Ok();
  }

  Status Resolve() {
    for (const LabelRef& ref : refs_) {
      size_t target;
      if (auto it = labels_.find(ref.label); it != labels_.end()) {
        target = it->second.slot;
      } else if (ref.label == "exit" && first_exit_) {
        // The suite's convention: "exit" names the first exit instruction.
        target = *first_exit_;
      } else {
        line_ = ref.line;
        return Fail("undefined label", ref.label);
      }
      int64_t delta = static_cast<int64_t>(target) - static_cast<int64_t>(ref.slot) - 1;
      hu_insn& insn = out_[ref.slot];
      if (ref.in_imm) {
        insn.imm = static_cast<int32_t>(delta);
      } else {
        if (delta < INT16_MIN || delta > INT16_MAX) {
          line_ = ref.line;
          return Fail("label too far for a 16-bit jump", ref.label);
        }
        insn.off = static_cast<int16_t>(delta);
      }
    }
    return Status::Ok();
  }

  struct LabelDef {
    size_t slot;
    int line;
  };
  std::vector<hu_insn> out_;
  std::map<std::string, LabelDef, std::less<>> labels_;
  std::vector<LabelRef> refs_;
  std::optional<size_t> first_exit_;
  int line_ = 0;
};

}  // namespace

Result<std::vector<hu_insn>> Assemble(std::string_view text) { return Assembler().Run(text); }

}  // namespace hu

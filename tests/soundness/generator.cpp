#include "generator.hpp"

#include <algorithm>
#include <array>

#include "platform.hpp"

namespace hu::soundness {
namespace {

constexpr std::array<hu_hook_id, 5> kHooks = {HU_HOOK_MEM_RECLAIM, HU_HOOK_TLB_FLUSH,
                                              HU_HOOK_SCHED_PREEMPT, HU_HOOK_TRACE_EXIT,
                                              HU_HOOK_MEM_PROTECT};

template <class T, size_t N>
const T& OneOf(std::mt19937_64& rng, const std::array<T, N>& a) {
  return a[rng() % N];
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Environment DefaultEnvironment() {
  Environment e;
  e.maps = {{HU_MAP_ARRAY, 4, 16, 4}, {HU_MAP_HASH, 8, 12, 16}, {HU_MAP_PERVCPU_ARRAY, 4, 24, 2}};
  return e;
}

Generator::Generator(uint64_t seed, Environment env) : rng_(seed), env_(std::move(env)) {}

std::string Generator::Label() { return "L" + std::to_string(labels_++); }

std::string Generator::Reg() {
  // r1-r5 do not survive calls and r9 holds the context: rarely these.
  if (Chance(2)) return "%r9";
  static constexpr std::array<const char*, 7> kRegs = {"%r0", "%r6", "%r7", "%r0",
                                                       "%r6", "%r7", "%r8"};
  std::string r = OneOf(rng_, kRegs);
  if (r == counter_ && Chance(95)) return "%r0";
  return r;
}

std::string Generator::AnyReg() {
  if (Chance(20)) return "%r10";
  return "%r" + std::to_string(Pick(10));
}

std::string Generator::Imm() {
  static constexpr std::array<const char*, 24> kImms = {
      "0",  "1",  "2",   "3",   "4",          "7",           "8",          "15",
      "16", "31", "32",  "63",  "64",         "255",         "4096",       "-1",
      "-2", "-8", "-16", "-64", "0x7fffffff", "-2147483648", "0x80000000", "0xffff"};
  if (Chance(10)) return std::to_string(static_cast<int32_t>(rng_()));
  return OneOf(rng_, kImms);
}

std::string Generator::Size() {
  static constexpr std::array<const char*, 4> kSizes = {"b", "h", "w", "dw"};
  return OneOf(rng_, kSizes);
}

// A stack offset in [-hi, -lo], aligned to 8 most of the time.
std::string Generator::StackOff(int lo, int hi) {
  int k = lo + static_cast<int>(Pick(static_cast<uint32_t>(hi - lo + 1)));
  if (Chance(70)) k = (k + 7) / 8 * 8;
  if (k > 512 && Chance(95)) k = 512;
  return "-" + std::to_string(k);
}

Generated Generator::Make(int size) {
  hook_ = kHooks[Pick(kHooks.size())];
  const verifier::ContextLayout* ctx = verifier::HookPlatform().Context(hook_);
  ctx_size_ = ctx ? ctx->size : 0;
  labels_ = 0;
  subprograms_ = 0;
  in_sub_ = false;
  std::vector<std::string> main;
  out_ = &main;

  // The context is kept in r9; the usual registers start as numbers.
  Emit("mov %r9, %r1");
  for (const char* r : {"%r0", "%r6", "%r7", "%r8"}) {
    if (Chance(2)) continue;  // rarely left uninitialised
    if (Chance(50))
      Emit(std::string("mov ") + r + ", " + Imm());
    else
      CtxLoad(r);
  }
  if (Chance(92)) {
    int slots = Chance(80) ? 16 : 1 + static_cast<int>(Pick(16));
    for (int k = 1; k <= slots; k++)
      Emit("stdw [%r10-" + std::to_string(8 * k) + "], " + (Chance(30) ? "0" : Imm()));
  }
  Body(size, 0);
  if (Chance(80)) Emit("mov %r0, " + (Chance(50) ? Reg() : Imm()));
  Emit("exit");

  std::vector<std::string> subs;
  for (int i = 0; i < subprograms_; i++) {
    std::vector<std::string> sub;
    out_ = &sub;
    in_sub_ = true;
    std::string text = Subprogram("sub" + std::to_string(i));
    subs.push_back(std::move(text));
  }
  out_ = nullptr;

  Generated g;
  g.hook = hook_;
  for (const auto& l : main) g.text += l + "\n";
  for (const auto& s : subs) g.text += s;
  return g;
}

std::string Generator::Subprogram(const std::string& name) {
  std::vector<std::string>& lines = *out_;
  Emit(name + ":");
  Emit("mov %r0, " + Imm());
  Emit(Chance(50) ? "mov %r6, %r2" : "mov %r6, " + Imm());
  Emit("mov %r7, " + Imm());
  Emit("mov %r8, " + Imm());
  if (Chance(60)) Emit("stdw [%r10-8], " + Imm());
  if (Chance(40)) CalleeHelperWrite();
  Body(3 + static_cast<int>(Pick(6)), 2);
  // r1 is the caller's argument: often a pointer into the caller's stack.
  if (Chance(40)) Emit("stx" + Size() + " [%r1-" + std::to_string(Pick(16)) + "], %r0");
  if (Chance(20)) Emit("ldxdw %r0, [%r1+0]");
  if (Chance(10)) Emit("mov %r0, %r10");  // a pointer to its own frame
  Emit("exit");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

void Generator::Body(int n, int depth) {
  size_t start = out_->size();
  while (static_cast<int>(out_->size() - start) < n) Snippet(depth);
}

void Generator::Snippet(int depth) {
  switch (Pick(30)) {
    case 0:
    case 1:
    case 2:
      Alu();
      break;
    case 3:
      if (in_sub_)
        Alu();
      else
        CtxLoad(Reg());
      break;
    case 4:
      StackStore();
      break;
    case 5:
      StackLoad();
      break;
    case 6:
      VarStack();
      break;
    case 7:
      Spill();
      break;
    case 8:
    case 9:
      Lookup(depth);
      break;
    case 10:
      MapUpdate();
      break;
    case 11:
      if (Chance(30))
        MapDelete();
      else
        ReadGuest();
      break;
    case 12:
      ReadGuest();
      break;
    case 13:
      VcpuState();
      break;
    case 14:
      TraceOutput();
      break;
    case 15:
      if (Chance(50))
        WriteGuest();
      else
        Callx();
      break;
    case 16:
      PointerPair();
      break;
    case 17:
    case 18:
      Branch(depth);
      break;
    case 19:
    case 23:
      if (depth < 2)
        Loop(depth);
      else
        Branch(depth);
      break;
    case 20:
    case 29:
      if (!in_sub_ && subprograms_ < 2 && Chance(60))
        CallLocal();
      else
        Alu();
      break;
    case 21:
      Atomic();
      break;
    case 24:
      if (in_sub_ || Chance(50))
        LookupDistance();
      else
        MergedLookups();
      break;
    case 25:
    case 26:
      SharedCopyBound();
      break;
    case 27:
      NullCheckOnTheRight();
      break;
    case 28:
      if (!in_sub_ && depth == 0 && Chance(25))
        DeepNest();
      else
        SharedCopyBound();
      break;
    case 22:
      if (Chance(50))
        Emit("lddw " + Reg() + ", " + Hex(rng_()));
      else
        BoundedIndex(Reg());
      break;
    default:
      Alu();
      break;
  }
}

void Generator::Alu() {
  static constexpr std::array<const char*, 14> kOps = {"add", "sub",  "mul",  "div", "or",
                                                       "and", "lsh",  "rsh",  "mod", "xor",
                                                       "mov", "arsh", "sdiv", "smod"};
  static constexpr std::array<const char*, 14> kUnary = {
      "neg",  "neg32",   "be16",    "be32",    "be64",     "le16",      "le32",
      "le64", "bswap16", "bswap32", "bswap64", "movsx864", "movsx1664", "movsx3264"};
  if (Chance(15)) {
    std::string op = OneOf(rng_, kUnary);
    if (op.starts_with("movsx")) {
      if (Chance(30)) op = Chance(50) ? "movsx832" : "movsx1632";
      Emit(op + " " + Reg() + ", " + (Chance(97) ? Reg() : AnyReg()));
    } else {
      Emit(op + " " + Reg());
    }
    return;
  }
  std::string op = OneOf(rng_, kOps);
  std::string w = Chance(30) ? "32" : "";
  std::string src = Chance(50) ? (Chance(97) ? Reg() : AnyReg()) : Imm();
  Emit(op + w + " " + Reg() + ", " + src);
}

void Generator::CtxLoad(const std::string& dst) {
  const verifier::ContextLayout* ctx = verifier::HookPlatform().Context(hook_);
  if (ctx == nullptr || ctx->fields.empty() || Chance(2)) {
    Emit("ldx" + Size() + " " + dst + ", [%r9+" + std::to_string(Pick(ctx_size_ + 16)) + "]");
    return;
  }
  const verifier::CtxField& f = ctx->fields[Pick(static_cast<uint32_t>(ctx->fields.size()))];
  uint32_t size = f.size;
  if (size > 1 && Chance(20)) size /= 2;  // a part of a field
  static constexpr std::array<const char*, 9> kBySize = {"", "b", "h", "", "w", "", "", "", "dw"};
  std::string op = Chance(15) && size < 8 ? "ldxs" : "ldx";
  Emit(op + kBySize[size] + " " + dst + ", [%r9+" + std::to_string(f.offset) + "]");
}

void Generator::StackStore() {
  std::string off = StackOff(1, 96);
  if (Chance(50))
    Emit("st" + Size() + " [%r10" + off + "], " + Imm());
  else
    Emit("stx" + Size() + " [%r10" + off + "], " + Reg());
}

void Generator::StackLoad() {
  std::string op = Chance(15) ? "ldxs" : "ldx";
  std::string size = op == "ldxs" ? std::string(Chance(50) ? "w" : "b") : Size();
  Emit(op + size + " " + Reg() + ", [%r10" + StackOff(1, 96) + "]");
}

// An access through a stack pointer moved by a masked index.
void Generator::VarStack() {
  static constexpr std::array<const char*, 6> kMasks = {"7", "8", "15", "24", "31", "0x38"};
  Emit("mov %r5, " + Reg());
  Emit("and %r5, " + std::string(OneOf(rng_, kMasks)));
  if (Chance(5)) Emit("lsh %r5, " + std::to_string(Pick(4)));
  Emit("mov %r4, %r10");
  bool up = Chance(90);
  Emit(up ? "add %r4, %r5" : "sub %r4, %r5");
  // Inside the initialised part of the frame, nearly always.
  std::string off = up ? StackOff(Chance(95) ? 64 : 8, 72) : StackOff(8, 64);
  if (Chance(50))
    Emit("stx" + Size() + " [%r4" + off + "], " + Reg());
  else if (Chance(70))
    Emit("ldx" + Size() + " " + Reg() + ", [%r4" + off + "]");
  else
    Emit("st" + Size() + " [%r4" + off + "], " + Imm());
}

void Generator::Spill() {
  static constexpr std::array<const char*, 5> kPtrs = {"%r9", "%r10", "%r6", "%r9", "%r7"};
  std::string off = StackOff(8, 96);
  Emit("stxdw [%r10" + off + "], " + std::string(OneOf(rng_, kPtrs)));
  if (Chance(40)) Emit("stx" + Size() + " [%r10" + StackOff(8, 96) + "], " + Reg());
  if (Chance(60))
    Emit("ldx" + (Chance(80) ? std::string("dw") : Size()) + " " + Reg() + ", [%r10" + off + "]");
}

// r5 := a value the verifier can bound (or, sometimes, cannot).
void Generator::BoundedIndex(const std::string& r) {
  if (in_sub_ || Chance(30))
    Emit("mov " + r + ", " + Reg());
  else
    CtxLoad(r);
  switch (Pick(5)) {
    case 0:
      Emit("and " + r + ", " + std::to_string(Pick(32)));
      break;
    case 1:
      Emit("and32 " + r + ", 0xf");
      break;
    case 2: {
      std::string l = Label();
      Emit("jgt " + r + ", " + std::to_string(Pick(24)) + ", " + l);
      Emit("mov %r0, 1");
      Emit(l + ":");
      break;
    }
    case 3:
      Emit("mod " + r + ", " + std::to_string(1 + Pick(20)));
      break;
    default:
      Emit("rsh " + r + ", " + std::to_string(58 + Pick(6)));
      break;
  }
}

void Generator::Lookup(int depth) {
  uint32_t m = Pick(static_cast<uint32_t>(env_.maps.size()));
  const hu_map_def& def = env_.maps[m];
  int key = 8 * (1 + static_cast<int>(Pick(4))) + 96;  // fp-104 .. fp-128
  if (Chance(92)) {
    Emit("stdw [%r10-" + std::to_string(key) + "], " + std::to_string(Pick(6)));
  } else if (def.key_size > 4) {
    Emit("stw [%r10-" + std::to_string(key) + "], 1");  // half of an 8-byte key
  }
  if (Chance(30)) Emit("stxw [%r10-" + std::to_string(key) + "], " + Reg());
  Emit("mov %r2, %r10");
  Emit("add %r2, -" + std::to_string(key));
  Emit("lddw %r1, map[" + std::to_string(m) + "]");
  Emit("call 1");
  static constexpr std::array<const char*, 3> kHold = {"%r6", "%r7", "%r8"};
  std::string p = OneOf(rng_, kHold);
  Emit("mov " + p + ", %r0");
  if (Chance(20)) Emit(std::string("mov ") + OneOf(rng_, kHold) + ", %r0");
  if (Chance(15)) Emit("stxdw [%r10-" + std::to_string(8 * (1 + Pick(4))) + "], %r0");
  std::string out = Label();
  const uint32_t check = Pick(12);
  switch (check) {
    case 0:
      break;  // no check
    case 1:
      Emit("jle " + p + ", 0, " + out);
      break;
    case 2:
    case 5: {  // the non-NULL side taken
      std::string ok = Label();
      Emit(std::string(check == 2 ? "jne " : "jgt ") + p + ", 0, " + ok);
      Emit("ja " + out);
      Emit(ok + ":");
      break;
    }
    case 3:
      Emit("jslt " + p + ", 0, " + out);
      break;
    case 4:
      Emit("jlt " + p + ", 0, " + out);
      break;
    default:
      Emit("jeq " + p + ", 0, " + out);
      break;
  }
  for (int i = static_cast<int>(Pick(3)); i >= 0; i--) ValueAccess(p, def.value_size);
  if (Chance(30)) Snippet(depth + 1);
  Emit(out + ":");
}

void Generator::ValueAccess(const std::string& p, uint32_t value_size) {
  // An offset an access of `size` bytes fits at, or (rarely) one past it.
  auto at = [&](const std::string& size) {
    uint32_t n = size == "b" ? 1 : size == "h" ? 2 : size == "w" ? 4 : 8;
    if (Chance(8) || n > value_size) return std::to_string(Pick(value_size + 8));
    return std::to_string(Pick(value_size - n + 1));
  };
  std::string size = Size();
  switch (Pick(10)) {
    case 0:
    case 1:
    case 2:
      Emit("ldx" + size + " " + Reg() + ", [" + p + "+" + at(size) + "]");
      break;
    case 3:
      Emit("stx" + size + " [" + p + "+" + at(size) + "], " + Reg());
      break;
    case 4:
      Emit("st" + size + " [" + p + "+" + at(size) + "], " + Imm());
      break;
    case 5:
      BoundedIndex("%r5");
      Emit("mov %r4, " + p);
      Emit("add %r4, %r5");
      Emit("ldxb " + Reg() + ", [%r4+0]");
      break;
    case 6:
      Emit(std::string("lock ") + (Chance(50) ? "fetch " : "") + (Chance(50) ? "add" : "xor") +
           (Chance(40) ? "32" : "") + " [" + p + "+" + std::to_string(8 * Pick(value_size / 8)) +
           "], " + Reg());
      break;
    case 7:
      if (Chance(30)) {
        // A pointer into a map value: the guest could read it back.
        Emit("stxdw [" + p + "+0], " + std::string(Chance(50) ? "%r10" : "%r9"));
      } else {
        Emit("ldxb " + Reg() + ", [" + p + "+" + std::to_string(Pick(value_size)) + "]");
      }
      break;
    case 8:
      Emit("mov %r4, " + p);
      Emit("add %r4, " + std::to_string(Pick(value_size - 3)));
      Emit("ldxw " + Reg() + ", [%r4+0]");
      break;
    default:
      Emit("mov %r0, " + p);  // may end up in r0 at exit
      break;
  }
}

void Generator::MapUpdate() {
  uint32_t m = Pick(static_cast<uint32_t>(env_.maps.size()));
  const hu_map_def& def = env_.maps[m];
  int key = 120, value = 160;
  Emit("stdw [%r10-" + std::to_string(key) + "], " + std::to_string(Pick(6)));
  int written = static_cast<int>(def.value_size);
  if (Chance(15)) written -= 1 + static_cast<int>(Pick(4));  // not all of it
  for (int b = 0; b < written; b += 4) Emit("stw [%r10-" + std::to_string(value - b) + "], 7");
  if (Chance(40)) Emit("stxw [%r10-" + std::to_string(value) + "], " + Reg());
  if (Chance(10)) Emit("stxdw [%r10-" + std::to_string(value) + "], %r10");
  Emit("lddw %r1, map[" + std::to_string(m) + "]");
  Emit("mov %r2, %r10");
  Emit("add %r2, -" + std::to_string(key));
  Emit("mov %r3, %r10");
  Emit("add %r3, -" + std::to_string(value));
  Emit("mov %r4, " + std::to_string(Pick(3)));
  Emit("call 2");
}

void Generator::MapDelete() {
  uint32_t m = Pick(static_cast<uint32_t>(env_.maps.size()));
  Emit("stdw [%r10-120], " + std::to_string(Pick(6)));
  Emit("lddw %r1, map[" + std::to_string(m) + "]");
  Emit("mov %r2, %r10");
  Emit("add %r2, -120");
  Emit("call 3");
}

// read_gva / read_gpa into a stack buffer, then reads of what it wrote.
void Generator::ReadGuest() {
  bool gpa = Chance(30);
  int dst = 136 + 8 * static_cast<int>(Pick(12));  // fp-136 .. fp-224
  Emit("mov %r1, %r10");
  Emit("add %r1, -" + std::to_string(dst));
  if (Chance(20)) {
    BoundedIndex("%r2");
    Emit("add %r2, 1");
  } else {
    Emit("mov %r2, " + std::to_string(Chance(10) ? Pick(300) : 1 + Pick(32)));
  }
  uint64_t base = gpa ? env_.read_gpa : env_.read_gva;
  uint64_t len = gpa ? env_.read_gpa_len : env_.read_gva_len;
  uint64_t addr = base + (Chance(85) ? Pick(static_cast<uint32_t>(len)) : len + Pick(64));
  if (Chance(5)) addr = rng_();
  Emit("lddw %r3, " + Hex(addr));
  Emit(gpa ? "call 5" : "call 4");
  if (Chance(30)) Emit("mov " + Reg() + ", %r0");
  for (int i = static_cast<int>(Pick(3)); i > 0; i--)
    Emit("ldxb " + Reg() + ", [%r10-" + std::to_string(dst - Pick(Chance(90) ? 8 : 40)) + "]");
}

void Generator::VcpuState() {
  int dst = 136 + 8 * static_cast<int>(Pick(10));
  if (Chance(30) && !in_sub_)
    CtxLoad("%r1");
  else
    Emit("mov %r1, " + std::to_string(Chance(80) ? Pick(4) : 99));
  Emit("mov %r2, %r10");
  Emit("add %r2, -" + std::to_string(dst));
  Emit("mov %r3, " + std::to_string(Chance(70) ? 64 : Pick(80)));
  Emit("call 9");
  for (int i = static_cast<int>(Pick(3)); i > 0; i--)
    Emit("ldxdw " + Reg() + ", [%r10-" + std::to_string(dst - 8 * Pick(8)) + "]");
}

void Generator::TraceOutput() {
  if (Chance(70)) {
    int src = 8 * (1 + static_cast<int>(Pick(Chance(90) ? 16 : 24)));
    Emit("mov %r1, %r10");
    Emit("add %r1, -" + std::to_string(src));
    Emit("mov %r2, " + std::to_string(Chance(90) ? 1 + Pick(static_cast<uint32_t>(src)) : 300));
  } else {
    uint32_t off = Pick(16);
    Emit("lddw %r1, map_value[0]+" + std::to_string(off));
    Emit("mov %r2, " + std::to_string(1 + Pick(16 - off)));
  }
  Emit("call 7");
}

void Generator::WriteGuest() {
  uint64_t addr = env_.write_gva + Pick(static_cast<uint32_t>(env_.write_gva_len + 16));
  Emit("lddw %r1, " + Hex(addr));
  int src = 8 * (1 + static_cast<int>(Pick(15)));
  Emit("mov %r2, %r10");
  Emit("add %r2, -" + std::to_string(src));
  Emit("mov %r3, " + std::to_string(1 + Pick(static_cast<uint32_t>(src))));
  Emit("call 6");
}

// Two pointers subtracted or compared; the result may reach r0 or a map.
void Generator::PointerPair() {
  static constexpr std::array<const char*, 5> kPtrs = {"%r10", "%r9", "%r6", "%r7", "%r4"};
  std::string a = OneOf(rng_, kPtrs), b = OneOf(rng_, kPtrs);
  if (a == "%r4" || b == "%r4") {
    Emit("mov %r4, %r10");
    Emit("add %r4, -" + std::to_string(Pick(64)));
  }
  if (Chance(60)) {
    Emit("mov %r3, " + a);
    Emit("sub %r3, " + b);
    if (Chance(50)) Emit("mov %r0, %r3");
  } else {
    static constexpr std::array<const char*, 6> kJmps = {"jeq", "jne", "jgt", "jlt", "jsgt", "jle"};
    std::string l = Label();
    Emit(std::string(OneOf(rng_, kJmps)) + " " + a + ", " + b + ", " + l);
    Emit("mov %r0, 1");
    Emit(l + ":");
  }
}

void Generator::Branch(int depth) {
  static constexpr std::array<const char*, 11> kJmps = {
      "jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle"};
  std::string j = OneOf(rng_, kJmps);
  if (Chance(30)) j += "32";
  std::string l = Label();
  Emit(j + " " + Reg() + ", " + (Chance(50) ? Reg() : Imm()) + ", " + l);
  Body(1 + static_cast<int>(Pick(4)), depth + 1);
  if (Chance(15)) {
    // An else branch.
    std::string end = Label();
    Emit("ja " + end);
    Emit(l + ":");
    Body(1 + static_cast<int>(Pick(3)), depth + 1);
    Emit(end + ":");
    return;
  }
  Emit(l + ":");
}

void Generator::Loop(int depth) {
  std::string counter = depth == 0 ? "%r8" : "%r7";
  if (Chance(20) && !in_sub_) {
    CtxLoad(counter);
    Emit("and " + counter + ", " + std::to_string(1 + Pick(31)));
  } else {
    Emit("mov " + counter + ", " + std::to_string(Pick(40)));
  }
  std::string head = Label();
  Emit(head + ":");
  std::string outer = counter_;
  counter_ = counter;
  Body(1 + static_cast<int>(Pick(5)), depth + 1);
  counter_ = outer;
  // Mostly loops that end; sometimes one that does not (add 1 wraps only
  // after 2^64 steps, rsh never makes jge false).
  static constexpr std::array<const char*, 8> kSteps = {"sub %c, 1",  "sub %c, 1",  "sub %c, 1",
                                                        "add %c, -2", "rsh %c, 1",  "sub %c, 3",
                                                        "add %c, 1",  "sub32 %c, 1"};
  static constexpr std::array<const char*, 8> kConds = {"jne", "jgt",  "jsgt", "jne32",
                                                        "jgt", "jsgt", "jge",  "jgt32"};
  size_t k = Chance(90) ? Pick(6) : 6 + Pick(2);
  std::string step = kSteps[k];
  step.replace(step.find("%c"), 2, counter);
  Emit(step);
  std::string cond = kConds[Chance(90) ? Pick(6) : 6 + Pick(2)];
  if ((cond == "jne" || cond == "jne32") && k > 2) cond = "jsgt";  // -2, -3 may skip 0
  Emit(cond + " " + counter + ", 0, " + head);
}

void Generator::CallLocal() {
  std::string name = "sub" + std::to_string(subprograms_++);
  // Often a pointer into this frame, sometimes below what the entry
  // initialised (fp-136 and down), where only the callee may write.
  int arg = Chance(30) ? 136 + 8 * static_cast<int>(Pick(8)) : 16 + 8 * static_cast<int>(Pick(6));
  if (Chance(70)) {
    Emit("mov %r1, %r10");
    Emit("add %r1, -" + std::to_string(arg));
  } else {
    Emit("mov %r1, " + Reg());
  }
  Emit("mov %r2, " + (Chance(50) ? Reg() : Imm()));
  Emit("call local " + name);
  if (Chance(50)) Emit("mov " + Reg() + ", %r0");
  // What the callee may have written through its argument (or not).
  if (Chance(40))
    Emit("ldx" + Size() + " " + Reg() + ", [%r10-" +
         std::to_string(std::max(8, arg - static_cast<int>(Pick(Chance(80) ? 8 : 24)))) + "]");
}

// At the callee's entry r1 is (often) a pointer into its caller's stack: a
// helper writes through it, for a size that may or may not fit, may be a
// range, and may fail (an unknown vCPU, an address outside the regions).
void Generator::CalleeHelperWrite() {
  if (Chance(50)) {
    Emit("mov %r2, " + std::to_string(Chance(80) ? 1 + Pick(16) : 1 + Pick(200)));
    if (Chance(30)) {
      Emit("and %r2, 7");
      Emit("add %r2, 1");
    }
    uint64_t addr = env_.read_gva + (Chance(80) ? Pick(static_cast<uint32_t>(env_.read_gva_len))
                                                : env_.read_gva_len + Pick(64));
    Emit("lddw %r3, " + Hex(addr));
    Emit("call 4");
  } else {
    Emit("mov %r3, " + std::to_string(Chance(80) ? 1 + Pick(16) : 1 + Pick(80)));
    Emit("mov %r2, %r1");
    Emit("mov %r1, " + std::to_string(Chance(70) ? Pick(4) : 99));
    Emit("call 9");
  }
}

void Generator::Atomic() {
  static constexpr std::array<const char*, 6> kOps = {"add", "or", "and", "xor", "xchg", "cmpxchg"};
  std::string op = OneOf(rng_, kOps);
  bool fetch = op != "xchg" && op != "cmpxchg" && Chance(50);
  std::string w = Chance(40) ? "32" : "";
  int off = 8 * (1 + static_cast<int>(Pick(10)));
  if (w == "32" && Chance(50)) off -= 4;
  Emit("lock " + std::string(fetch ? "fetch " : "") + op + w + " [%r10-" + std::to_string(off) +
       "], " + Reg());
}

// r0 := map_lookup_elem(map[m], &key), the key at fp-104.
void Generator::LookupKey(uint32_t m, uint32_t key) {
  Emit("stdw [%r10-104], " + std::to_string(key));
  Emit("mov %r2, %r10");
  Emit("add %r2, -104");
  Emit("lddw %r1, map[" + std::to_string(m) + "]");
  Emit("call 1");
}

// Copies of one maybe-NULL lookup result; on one path one copy is replaced
// by a pointer that cannot be NULL, on the other path the other copy. After
// the merge a NULL check of one says nothing about the other.
void Generator::MergedLookups() {
  LookupKey(0, Pick(6));  // keys 4, 5 are not in map 0
  Emit("mov %r6, %r0");
  Emit("mov %r7, %r0");
  std::string other = Label(), join = Label(), out = Label();
  CtxLoad("%r1");
  Emit("jeq %r1, " + Imm() + ", " + other);
  bool swap = Chance(50);
  Emit(std::string("lddw ") + (swap ? "%r7" : "%r6") + ", map_value[0]+0");
  Emit("ja " + join);
  Emit(other + ":");
  Emit(std::string("lddw ") + (swap ? "%r6" : "%r7") + ", map_value[0]+0");
  Emit(join + ":");
  Emit(std::string("jeq ") + (Chance(50) ? "%r6" : "%r7") + ", 0, " + out);
  Emit("ldxb %r0, [" + std::string(Chance(50) ? "%r7" : "%r6") + "+0]");
  Emit(out + ":");
}

// The distance between two values of one map, both checked, handed to the
// guest through r0, a map value or the trace ring.
void Generator::LookupDistance() {
  std::string out = Label();
  uint32_t m = Pick(static_cast<uint32_t>(env_.maps.size()));
  for (const char* dst : {"%r6", "%r7"}) {
    LookupKey(m, Pick(4));
    Emit("jeq %r0, 0, " + out);
    Emit(std::string("mov ") + dst + ", %r0");
  }
  Emit("mov %r3, %r7");
  Emit("sub %r3, %r6");
  switch (Pick(3)) {
    case 0:
      Emit("mov %r0, %r3");
      break;
    case 1:
      Emit("stxdw [%r6+0], %r3");
      break;
    default:
      Emit("stxdw [%r10-8], %r3");
      Emit("mov %r1, %r10");
      Emit("add %r1, -8");
      Emit("mov %r2, 8");
      Emit("call 7");
      break;
  }
  Emit(out + ":");
}

// A scalar and its copies (a register copy, a fill of its spill, the old
// value an atomic fetch returns): a bound learned on one reaches the copies
// only while they still hold the same value. Then one of them indexes the
// stack.
void Generator::SharedCopyBound() {
  if (in_sub_)
    Emit("mov %r6, " + Reg());
  else
    CtxLoad("%r6");
  Emit("mov %r7, %r6");
  switch (Pick(4)) {
    case 0:
      Emit("stxdw [%r10-136], %r7");
      Emit("ldxdw %r7, [%r10-136]");
      break;
    case 1:
      Emit("stxdw [%r10-136], %r6");
      Emit("mov %r7, 0");
      Emit("lock fetch add [%r10-136], %r7");  // r7 := the old value, a copy
      break;
    case 2:
      Emit("add %r7, " + std::to_string(Pick(3)));  // no longer a copy (unless + 0)
      break;
    default:
      break;
  }
  if (Chance(20)) Emit("mov %r6, " + Reg());  // r6 replaced
  std::string out = Label();
  const int k = 8 * static_cast<int>(Pick(16));
  switch (Pick(4)) {
    case 0:
      Emit("jgt %r7, " + std::to_string(k) + ", " + out);
      break;
    case 1:
      Emit("mov %r8, " + std::to_string(k));
      Emit("jgt %r7, %r8, " + out);
      break;
    case 2:
      Emit("jgt %r6, %r7, " + out);  // both copies in one comparison
      Emit("jgt %r7, " + std::to_string(k) + ", " + out);
      break;
    default:
      Emit("jsgt %r7, " + std::to_string(k) + ", " + out);  // a signed bound only
      break;
  }
  // The index is the other copy: fp-136 - idx is inside the frame only if
  // the bound reached it.
  const char* idx = Chance(80) ? "%r6" : "%r7";
  Emit("mov %r1, %r10");
  Emit("add %r1, -256");
  Emit(std::string("add %r1, ") + idx);
  if (Chance(50))
    Emit("stxb [%r1+0], %r0");
  else
    Emit("ldxb %r0, [%r1+" + std::to_string(128 - static_cast<int>(Pick(2)) * 8) + "]");
  Emit(out + ":");
}

// A NULL check written with the 0 on the left (`0 < p`, `0 >= p`, ...), in
// every condition, unsigned and signed; then p is dereferenced on one side.
void Generator::NullCheckOnTheRight() {
  static constexpr std::array<const char*, 10> kConds = {"jeq", "jne",  "jgt",  "jge",  "jlt",
                                                         "jle", "jsgt", "jslt", "jset", "jgt32"};
  LookupKey(0, Pick(6));  // keys 4, 5 are not in map 0
  Emit("mov %r6, %r0");
  Emit("mov %r1, 0");
  std::string taken = Label(), out = Label();
  Emit(std::string(OneOf(rng_, kConds)) + " %r1, %r6, " + taken);
  // Each side dereferences p, or reads a slot nothing wrote: accepted only
  // if the verifier wrongly thinks that side cannot run.
  auto side = [&] {
    if (Chance(50)) Emit("ldxb %r0, [%r6+0]");
    if (Chance(20)) Emit("ldxdw %r0, [%r10-496]");
  };
  side();  // fall through
  Emit("ja " + out);
  Emit(taken + ":");
  side();
  Emit(out + ":");
}

// Nine loops nested in one frame, two iterations each, counted on the
// stack: one more than the analysis counts per frame, so the innermost
// loop's iterations are not told apart. Its body writes or reads a slot
// depending on the iteration.
void Generator::DeepNest() {
  constexpr int kDepth = 9;
  std::vector<std::string> heads;
  auto counter = [](int i) { return "[%r10-" + std::to_string(400 + 8 * i) + "]"; };
  for (int i = 0; i < kDepth; i++) {
    Emit("stdw " + counter(i) + ", 0");
    heads.push_back(Label());
    Emit(heads.back() + ":");
  }
  std::string skip = Label();
  Emit("ldxdw %r1, " + counter(static_cast<int>(Pick(kDepth))));
  Emit("jeq %r1, " + std::to_string(Pick(2)) + ", " + skip);
  if (Chance(50))
    Emit("stdw [%r10-488], 5");
  else
    Emit("ldxdw %r0, [%r10-488]");
  Emit(skip + ":");
  if (Chance(30)) Emit("ldxdw %r0, [%r10-488]");
  for (int i = kDepth - 1; i >= 0; i--) {
    Emit("ldxdw %r1, " + counter(i));
    Emit("add %r1, 1");
    Emit("stxdw " + counter(i) + ", %r1");
    Emit("jlt %r1, 2, " + heads[i]);
  }
  if (Chance(50)) Emit("ldxdw %r0, [%r10-488]");
}

void Generator::Callx() {
  Emit("mov %r5, " + std::string(Chance(90) ? "8" : "12"));
  Emit("call %r5");
}

}  // namespace hu::soundness

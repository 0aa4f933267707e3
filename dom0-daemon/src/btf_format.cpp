#include "btf_format.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace hu::daemon {

namespace {

void Append(void* ctx, const char* fmt, va_list args) {
  auto* out = static_cast<std::string*>(ctx);
  char buf[512];
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out->append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(big.data(), big.size(), fmt, args);
  out->append(big.data(), static_cast<size_t>(n));
}

// libbpf reports malformed BTF through its print callback; the daemon
// says only "no BTF", so those lines are dropped.
int Quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

BtfFormatter::BtfFormatter(const std::vector<uint8_t>& raw) {
  if (raw.empty()) return;
  libbpf_print_fn_t old = libbpf_set_print(Quiet);
  struct btf* b = btf__new(raw.data(), static_cast<uint32_t>(raw.size()));
  libbpf_set_print(old);
  if (!libbpf_get_error(b) && b) btf_ = b;
}

BtfFormatter::~BtfFormatter() {
  if (btf_) btf__free(btf_);
}

std::string BtfFormatter::TypeName(uint32_t type_id) const {
  if (!btf_ || type_id == 0 || type_id >= btf__type_cnt(btf_)) return "";
  std::string out;
  btf_dump_opts opts{};
  opts.sz = sizeof(opts);
  btf_dump* d = btf_dump__new(btf_, Append, &out, &opts);
  if (libbpf_get_error(d) || !d) return "";
  DECLARE_LIBBPF_OPTS(btf_dump_emit_type_decl_opts, decl, .field_name = "", .indent_level = 0,
                      .strip_mods = true);
  if (btf_dump__emit_type_decl(d, type_id, &decl) != 0) out.clear();
  btf_dump__free(d);
  return out;
}

std::string BtfFormatter::Format(uint32_t type_id, const std::vector<uint8_t>& data) const {
  if (!btf_ || type_id == 0 || type_id >= btf__type_cnt(btf_)) return "";
  const int64_t size = btf__resolve_size(btf_, type_id);
  if (size <= 0 || static_cast<uint64_t>(size) != data.size()) return "";
  std::string out;
  btf_dump_opts opts{};
  opts.sz = sizeof(opts);
  btf_dump* d = btf_dump__new(btf_, Append, &out, &opts);
  if (libbpf_get_error(d) || !d) return "";
  DECLARE_LIBBPF_OPTS(btf_dump_type_data_opts, topts, .compact = true, .emit_zeroes = true);
  const int rc = btf_dump__dump_type_data(d, type_id, data.data(), data.size(), &topts);
  btf_dump__free(d);
  if (rc < 0) return "";
  return out;
}

}  // namespace hu::daemon

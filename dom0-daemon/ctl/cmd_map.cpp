// hyperupcallctl map dump|lookup|update|delete: any installed program's
// maps, bpftool-style. Keys and values are given as hex bytes, or as
// little-endian integers u8:N u16:N u32:N u64:N; they are shown as hex and,
// when the guest sent its BTF, as C values.
#include <fmt/format.h>

#include <cctype>
#include <cstring>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct MapArgs {
  uint64_t prog = 0;
  std::string map;  // a name, or the index as a number
  std::string key, value;
  int64_t vcpu = -1;
};

// "01 00 00 00", "0x01000000" (bytes in that order), or u32:5 (little
// endian). CLI::ValidationError otherwise: a usage error (exit 64).
std::string ParseBytes(const std::string& text, const char* what) {
  for (const auto& [prefix, width] : {std::pair{"u8:", 1}, {"u16:", 2}, {"u32:", 4}, {"u64:", 8}}) {
    if (text.rfind(prefix, 0) != 0) continue;
    const std::string num = text.substr(std::strlen(prefix));
    size_t used = 0;
    unsigned long long v = 0;
    try {
      v = std::stoull(num, &used, 0);
    } catch (const std::exception&) {
      used = 0;
    }
    if (num.empty() || used != num.size() || num[0] == '-' || (width < 8 && v >> (8 * width) != 0))
      throw CLI::ValidationError(what, "'" + text + "': not a " + prefix + " number that fits");
    std::string out(static_cast<size_t>(width), '\0');
    for (int i = 0; i < width; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
    return out;
  }
  std::string hex;
  for (size_t i = (text.rfind("0x", 0) == 0 ? 2 : 0); i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(text[i])))
      throw CLI::ValidationError(what, "'" + text + "': not hex bytes, u32:N or u64:N");
    hex += text[i];
  }
  if (hex.empty() || hex.size() % 2)
    throw CLI::ValidationError(what, "'" + text + "': hex bytes come in pairs of digits");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string Spaced(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", c);
  return out;
}

void Select(const MapArgs& a, opv1::MapSelector* s) {
  s->set_prog_id(a.prog);
  if (!a.map.empty() && a.map.find_first_not_of("0123456789") == std::string::npos &&
      a.map.size() < 10) {
    s->set_map_index(static_cast<uint32_t>(std::stoul(a.map)));
  } else {
    s->set_map_name(a.map);
  }
}

json DumpJson(const opv1::MapDumpResponse& r) {
  json rows = json::array();
  for (const auto& row : r.rows()) {
    json j = {{"key", protojson::HexBytes(row.key())}};
    if (!row.key_text().empty()) j["key_text"] = row.key_text();
    if (row.vcpu_values_size() == 0) {
      j["value"] = protojson::HexBytes(row.value());
      if (!row.value_text().empty()) j["value_text"] = row.value_text();
    } else {
      json per = json::array();
      for (int v = 0; v < row.vcpu_values_size(); ++v) {
        json pv = {{"vcpu", v}, {"value", protojson::HexBytes(row.vcpu_values(v))}};
        if (v < row.vcpu_value_texts_size() && !row.vcpu_value_texts(v).empty())
          pv["value_text"] = row.vcpu_value_texts(v);
        per.push_back(std::move(pv));
      }
      j["values"] = std::move(per);
    }
    rows.push_back(std::move(j));
  }
  json j = {{"prog_id", r.prog_id()},
            {"domid", r.domid()},
            {"map_index", r.map_index()},
            {"map", protojson::ToJson(r.map())},
            {"entries", std::move(rows)}};
  if (!r.key_type().empty()) j["key_type"] = r.key_type();
  if (!r.value_type().empty()) j["value_type"] = r.value_type();
  return j;
}

std::string Text(const opv1::MapDumpResponse& r) {
  std::string out = fmt::format(
      "map {} '{}' of program {} (dom {}): key {}, value {}, {} entries\n", r.map_index(),
      r.map().name(), r.prog_id(), r.domid(),
      r.key_type().empty() ? fmt::format("{} bytes", r.map().key_size()) : r.key_type(),
      r.value_type().empty() ? fmt::format("{} bytes", r.map().value_size()) : r.value_type(),
      r.rows_size());
  auto text = [](const std::string& t) { return t.empty() ? std::string() : "  " + t; };
  for (const auto& row : r.rows()) {
    out += "key: " + Spaced(row.key()) + text(row.key_text()) + "\n";
    if (row.vcpu_values_size() == 0) {
      out += "value: " + Spaced(row.value()) + text(row.value_text()) + "\n";
    }
    for (int v = 0; v < row.vcpu_values_size(); ++v) {
      out += fmt::format("  vcpu {}: {}{}\n", v, Spaced(row.vcpu_values(v)),
                         text(v < row.vcpu_value_texts_size() ? row.vcpu_value_texts(v) : ""));
    }
  }
  return out;
}

}  // namespace

void AddMapCommands(CLI::App& app, Context& ctx, int& rc) {
  static MapArgs a;
  auto* map = app.add_subcommand("map", "an installed program's maps (any domain)");
  map->require_subcommand(1);
  auto common = [](CLI::App* c, bool key) {
    c->add_option("PROG", a.prog, "program id")->required();
    c->add_option("MAP", a.map, "map name, or its index")->required();
    if (key)
      c->add_option("--key", a.key, "hex bytes (\"01 00 00 00\"), or u32:N / u64:N")->required();
  };
  auto emit = [&ctx, &rc](const grpc::Status& st, const opv1::MapDumpResponse& resp) {
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    Emit(ctx, DumpJson(resp), Text(resp));
  };

  auto* dump = map->add_subcommand("dump", "every entry (per-vCPU arrays: each vCPU's value)");
  dump->add_option("PROG", a.prog, "program id")->required();
  dump->add_option("MAP", a.map, "map name, or its index (default 0)");
  dump->callback([&ctx, emit] {
    opv1::MapDumpRequest req;
    Select(a, req.mutable_map());
    opv1::MapDumpResponse resp;
    auto c = ctx.Call();
    emit(ctx.Stub().MapDump(c.get(), req, &resp), resp);
  });

  auto* lookup = map->add_subcommand("lookup", "one entry, by key");
  common(lookup, true);
  lookup->callback([&ctx, emit] {
    opv1::MapKeyRequest req;
    Select(a, req.mutable_map());
    req.set_key(ParseBytes(a.key, "--key"));
    opv1::MapDumpResponse resp;
    auto c = ctx.Call();
    emit(ctx.Stub().MapLookup(c.get(), req, &resp), resp);
  });

  auto* update = map->add_subcommand("update", "set one entry (audited)");
  common(update, true);
  update->add_option("--value", a.value, "hex bytes, or u32:N / u64:N")->required();
  update->add_option("--vcpu", a.vcpu, "per-vCPU arrays: only this vCPU's value (default: all)")
      ->check(CLI::Range(0, 65535));
  update->callback([&ctx, emit] {
    opv1::MapUpdateRequest req;
    Select(a, req.mutable_map());
    req.set_key(ParseBytes(a.key, "--key"));
    req.set_value(ParseBytes(a.value, "--value"));
    if (a.vcpu >= 0) req.set_vcpu(static_cast<uint32_t>(a.vcpu));
    opv1::MapDumpResponse resp;
    auto c = ctx.Call();
    emit(ctx.Stub().MapUpdate(c.get(), req, &resp), resp);
  });

  auto* del = map->add_subcommand("delete", "remove a hash map's entry (audited)");
  common(del, true);
  del->callback([&ctx, &rc] {
    opv1::MapKeyRequest req;
    Select(a, req.mutable_map());
    req.set_key(ParseBytes(a.key, "--key"));
    opv1::MapDeleteResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().MapDelete(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    Emit(ctx, json{{"deleted", true}}, "deleted\n");
  });
}

}  // namespace hu::ctl

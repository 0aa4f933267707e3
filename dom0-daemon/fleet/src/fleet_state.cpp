#include "fleet_state.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace hu::fleet {

Policy NothingAllowed() {
  Policy p;
  p.allowed_hooks = 0;
  p.allowed_helpers = 0;
  p.max_insns = 1;
  p.max_programs = 0;
  p.require_approval = true;
  p.max_grace_us = 0;
  return p;
}

namespace {

std::string What(const StateKey& k) {
  switch (k.kind) {
    case StateKey::Kind::kFleetPolicy:
      return "fleet-wide policy";
    case StateKey::Kind::kHostPolicy:
      return fmt::format("host {} policy", k.name);
    case StateKey::Kind::kDomainPolicy:
      return fmt::format("domain {} policy", k.name);
    case StateKey::Kind::kApproval:
      return fmt::format("approval of program sha256 {}", k.name);
  }
  return "?";
}

}  // namespace

bool FleetState::Concerns(const std::string& key) const {
  auto k = ParseStateKey(keys_, key);
  return k && (k->kind != StateKey::Kind::kHostPolicy || k->name == host_);
}

FleetState::Entry FleetState::Parse(const etcd::KeyValue& kv) const {
  try {
    auto p = daemon::PolicyFromJson(nlohmann::json::parse(kv.value));
    if (p) return Entry{*p, ""};
    return Entry{NothingAllowed(), p.error().message};
  } catch (const nlohmann::json::exception& e) {
    return Entry{NothingAllowed(), fmt::format("not JSON: {}", e.what())};
  }
}

std::optional<Change> FleetState::Set(const StateKey& k, const etcd::KeyValue& kv) {
  auto old = raw_.find(kv.key);
  if (old != raw_.end() && old->second.value == kv.value) {
    old->second = kv;
    return std::nullopt;
  }
  raw_[kv.key] = kv;
  invalid_.erase(kv.key);
  std::string text;
  if (k.kind == StateKey::Kind::kApproval) {
    approvals_[k.name] = kv.mod_revision;
    text = fmt::format("fleet: {} at etcd revision {}: {}", What(k), kv.mod_revision, kv.value);
  } else {
    Entry e = Parse(kv);
    if (!e.error.empty()) {
      invalid_[kv.key] = e.error;
      text = fmt::format(
          "fleet: {} at etcd revision {} is not a valid policy ({}); enforced as nothing "
          "allowed",
          What(k), kv.mod_revision, e.error);
    } else {
      text = fmt::format("fleet: {} set at etcd revision {}: {}", What(k), kv.mod_revision,
                         daemon::PolicyToJson(e.policy).dump());
    }
    if (k.kind == StateKey::Kind::kFleetPolicy) fleet_policy_ = e;
    if (k.kind == StateKey::Kind::kHostPolicy) host_policy_ = e;
    if (k.kind == StateKey::Kind::kDomainPolicy) domains_[k.name] = e;
  }
  return Change{k, false, kv.mod_revision, text};
}

std::optional<Change> FleetState::Erase(const StateKey& k, const std::string& key, int64_t rev) {
  if (!raw_.erase(key)) return std::nullopt;
  invalid_.erase(key);
  if (k.kind == StateKey::Kind::kFleetPolicy) fleet_policy_.reset();
  if (k.kind == StateKey::Kind::kHostPolicy) host_policy_.reset();
  if (k.kind == StateKey::Kind::kDomainPolicy) domains_.erase(k.name);
  if (k.kind == StateKey::Kind::kApproval) approvals_.erase(k.name);
  return Change{k, true, rev, fmt::format("fleet: {} removed at etcd revision {}", What(k), rev)};
}

std::optional<Change> FleetState::Apply(const etcd::WatchEvent& ev) {
  if (!Concerns(ev.kv.key)) return std::nullopt;
  auto k = ParseStateKey(keys_, ev.kv.key);
  return ev.deleted ? Erase(*k, ev.kv.key, ev.kv.mod_revision) : Set(*k, ev.kv);
}

std::vector<Change> FleetState::Replace(const std::vector<etcd::KeyValue>& kvs, int64_t revision) {
  std::vector<Change> out;
  std::map<std::string, const etcd::KeyValue*> next;
  for (const auto& kv : kvs) {
    if (Concerns(kv.key)) next[kv.key] = &kv;
  }
  std::vector<std::string> gone;
  for (const auto& [key, kv] : raw_) {
    if (!next.count(key)) gone.push_back(key);
  }
  for (const auto& key : gone) {
    if (auto c = Erase(*ParseStateKey(keys_, key), key, revision)) out.push_back(*c);
  }
  for (const auto& [key, kv] : next) {
    if (auto c = Set(*ParseStateKey(keys_, key), *kv)) out.push_back(*c);
  }
  revision_ = revision;
  return out;
}

std::optional<Policy> FleetState::DefaultPolicy() const {
  if (host_policy_) return host_policy_->policy;
  if (fleet_policy_) return fleet_policy_->policy;
  return std::nullopt;
}

std::optional<Policy> FleetState::DomainPolicy(const std::string& uuid) const {
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return std::nullopt;
  return it->second.policy;
}

std::vector<std::string> FleetState::invalid() const {
  std::vector<std::string> out;
  for (const auto& [key, why] : invalid_) out.push_back(key + ": " + why);
  return out;
}

}  // namespace hu::fleet

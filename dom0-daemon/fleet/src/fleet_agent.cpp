#include "fleet_agent.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fleet_service.hpp"

namespace hu::fleet {

using namespace std::chrono_literals;

namespace {

constexpr const char* kHealthName = "hyperupcall.fleet";

std::string SystemHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(const FleetOptions& o, const std::string& state_dir,
                                             const daemon::OperatorEndpointOptions& op,
                                             daemon::Backend& backend,
                                             const daemon::PolicyScopes* scopes) {
  FleetOptions opts = o;
  if (opts.host.empty()) opts.host = SystemHostName();
  if (auto st = ValidateHostName(opts.host); !st) return st.error();
  auto eps = etcd::ParseEndpoints(opts.etcd);
  if (!eps) return eps.error();
  std::string advertise = opts.advertise;
  if (advertise.empty()) {
    advertise = !op.tcp_address.empty() ? op.tcp_address : "unix:" + op.unix_socket;
  }
  auto cache = FleetCache::Open(state_dir + "/fleet.db");
  if (!cache) return cache.error();
  auto loaded = (*cache)->Load();
  if (!loaded) return loaded.error();
  opts.etcd.clear();
  for (const auto& e : *eps) opts.etcd += (opts.etcd.empty() ? "" : ",") + e;
  std::unique_ptr<Agent> a(new Agent(opts, advertise, backend, scopes, std::move(*cache)));
  a->old_lease_ = loaded->lease;
  if (loaded->revision > 0) {
    // The last state this host knew is in force from the first program on,
    // and the watch catches up from the revision after it.
    (void)a->state_.Replace(loaded->kvs, loaded->revision);
    a->known_ = true;
    a->need_full_sync_ = false;
    spdlog::info(
        "fleet: enforcing the state of etcd revision {} kept in {}/fleet.db until etcd "
        "answers",
        loaded->revision, state_dir);
  }
  return a;
}

Agent::Agent(const FleetOptions& o, std::string advertise, daemon::Backend& backend,
             const daemon::PolicyScopes* scopes, std::unique_ptr<FleetCache> cache)
    : opts_(o),
      keys_{o.prefix},
      advertise_(std::move(advertise)),
      backend_(backend),
      scopes_(scopes),
      cache_(std::move(cache)),
      client_(etcd::ClientOptions{*etcd::ParseEndpoints(o.etcd), 2000ms}),
      service_(MakeFleetService(*this)),
      state_(keys_, o.host),
      since_ms_(daemon::NowUnixMs()) {}

Agent::~Agent() { Stop(); }

void Agent::Start(daemon::Core& core, grpc::HealthCheckServiceInterface* health) {
  core_ = &core;
  health_ = health;
  if (health_) health_->SetServingStatus(kHealthName, false);
  spdlog::info("fleet: host {} joining through etcd {} (prefix {}), operators reach it at {}",
               opts_.host, opts_.etcd, opts_.prefix, advertise_);
  watcher_ = std::thread([this] { WatchLoop(); });
  registrar_ = std::thread([this] { RegistryLoop(); });
}

void Agent::Stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (watch_) watch_->Cancel();
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (registrar_.joinable()) registrar_.join();
  int64_t lease;
  {
    std::lock_guard lk(mu_);
    lease = lease_;
  }
  if (lease) {
    if (auto st = client_.LeaseRevoke(lease); st) {
      (void)cache_->SaveLease(0);
      spdlog::info("fleet: host {} left the registry", opts_.host);
    }
  }
}

bool Agent::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [this] { return stopping_; });
  return !stopping_;
}

void Agent::SetHealth(bool* flag, bool ok, const std::string& why) {
  bool was, now;
  std::string reason;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    was = watch_ok_ && registry_ok_;
    *flag = ok;
    (flag == &watch_ok_ ? watch_why_ : registry_why_) = ok ? "" : why;
    now = watch_ok_ && registry_ok_;
    if (was != now) since_ms_ = daemon::NowUnixMs();
    reason = !watch_ok_ ? watch_why_ : registry_why_;
  }
  if (was == now) return;
  if (now) {
    spdlog::info("fleet: connected to etcd at {}; state of revision {} in force",
                 client_.current_endpoint(), Report().revision());
  } else {
    spdlog::warn("fleet: degraded, keeping the last known fleet state in force: {}", reason);
  }
  if (health_) health_->SetServingStatus(kHealthName, now);
}

Status Agent::FullSync() {
  auto r = client_.GetPrefix(keys_.State());
  if (!r) return r.error();
  std::vector<Change> changes;
  std::vector<etcd::KeyValue> kept;
  {
    std::lock_guard lk(mu_);
    changes = state_.Replace(r->kvs, r->revision);
    for (const auto& [k, kv] : state_.raw()) kept.push_back(kv);
    known_ = true;
    need_full_sync_ = false;
    last_sync_ms_ = daemon::NowUnixMs();
    ++resyncs_;
    changes_ += changes.size();
  }
  if (auto st = cache_->Replace(kept, r->revision); !st) {
    spdlog::error("fleet: {}", st.error().message);
  }
  spdlog::info("fleet: read the whole state at etcd revision {} ({} keys, {} changed)", r->revision,
               kept.size(), changes.size());
  Announce(changes);
  return Status::Ok();
}

void Agent::OnBatch(const etcd::WatchBatch& b) {
  std::vector<Change> changes;
  std::vector<std::pair<std::string, std::optional<etcd::KeyValue>>> rows;
  {
    std::lock_guard lk(mu_);
    for (const auto& ev : b.events) {
      auto c = state_.Apply(ev);
      if (!c) continue;
      changes.push_back(*c);
      rows.emplace_back(ev.kv.key, ev.deleted ? std::nullopt : std::optional(ev.kv));
    }
    state_.set_revision(std::max(state_.revision(), b.revision));
    last_sync_ms_ = daemon::NowUnixMs();
    changes_ += changes.size();
  }
  // Progress notifications move the revision too, so a restart after a
  // long quiet spell does not ask for a compacted one.
  if (auto st = cache_->Apply(rows, b.revision); !st) {
    spdlog::error("fleet: {}", st.error().message);
  }
  Announce(changes);
}

void Agent::Announce(const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    core_->AuditNote(0, "fleet", c.text);
    if (c.key.kind == StateKey::Kind::kApproval && !c.deleted) {
      const size_t n = core_->ApproveByHash(
          c.key.name, fmt::format("approved for the fleet (etcd revision {})", c.mod_revision));
      if (n) spdlog::info("fleet: {} pending program(s) with sha256 {} installed", n, c.key.name);
    }
  }
}

void Agent::WatchLoop() {
  auto backoff = 100ms;
  auto failed = [&](const Error& e) {
    SetHealth(&watch_ok_, false, e.message);
    if (!Sleep(backoff)) return false;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 2000ms);
    return true;
  };
  for (;;) {
    bool full;
    int64_t from;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      full = need_full_sync_;
      from = state_.revision() + 1;
    }
    if (full) {
      if (auto st = FullSync(); !st) {
        if (!failed(st.error())) return;
        continue;
      }
      std::lock_guard lk(mu_);
      from = state_.revision() + 1;
    }
    auto w = etcd::Watch::Open(client_, keys_.State(), from);
    if (!w) {
      if (!failed(w.error())) return;
      continue;
    }
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      watch_ = w->get();
      last_sync_ms_ = daemon::NowUnixMs();
    }
    SetHealth(&watch_ok_, true, "");
    backoff = 100ms;
    for (;;) {
      auto b = (*w)->Next();
      if (!b) {
        bool stop;
        {
          std::lock_guard lk(mu_);
          stop = stopping_;
        }
        if (!stop) SetHealth(&watch_ok_, false, b.error().message);
        break;
      }
      if (b->compact_revision > 0) {
        spdlog::warn(
            "fleet: etcd compacted revision {} (oldest kept: {}): reading the whole "
            "state again",
            from, b->compact_revision);
        std::lock_guard lk(mu_);
        need_full_sync_ = true;
        break;
      }
      OnBatch(*b);
    }
    {
      std::lock_guard lk(mu_);
      watch_ = nullptr;
    }
    w->reset();
    if (!Sleep(backoff)) return;
  }
}

Status Agent::Register() {
  auto id = client_.LeaseGrant(opts_.lease_ttl_s);
  if (!id) return id.error();
  nlohmann::json v = {{"host", opts_.host},
                      {"operator", advertise_},
                      {"pid", static_cast<int64_t>(getpid())},
                      {"lease", *id},
                      {"registered_unix_ms", daemon::NowUnixMs()}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto cas = client_.CompareAndPut(keys_.Host(opts_.host), v.dump(), 0, *id);
    if (!cas) {
      (void)client_.LeaseRevoke(*id);
      return cas.error();
    }
    if (cas->succeeded) {
      {
        std::lock_guard lk(mu_);
        lease_ = *id;
      }
      if (auto st = cache_->SaveLease(*id); !st) spdlog::error("fleet: {}", st.error().message);
      spdlog::info("fleet: host {} registered (lease {:x}, ttl {} s)", opts_.host, *id,
                   opts_.lease_ttl_s);
      return Status::Ok();
    }
    // The key is held: by this daemon's previous run (its lease is kept on
    // disk, so a restart does not wait for it to expire), or by another
    // daemon using the same host name, which is refused.
    const int64_t held = cas->actual ? cas->actual->lease : 0;
    if (!held || held != old_lease_) {
      (void)client_.LeaseRevoke(*id);
      return MakeError(ErrorCode::kAlreadyExists,
                       fmt::format("host name '{}' is already registered by another daemon ({}); "
                                   "give this one another --fleet-host",
                                   opts_.host, cas->actual ? cas->actual->value : "?"));
    }
    (void)client_.LeaseRevoke(held);
    old_lease_ = 0;
  }
  (void)client_.LeaseRevoke(*id);
  return MakeError(ErrorCode::kAborted, "host registry: registration raced with another writer");
}

void Agent::RegistryLoop() {
  const auto period = std::chrono::milliseconds(opts_.lease_ttl_s * 1000 / 3);
  auto backoff = 100ms;
  for (;;) {
    int64_t lease;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      lease = lease_;
    }
    Status st;
    if (!lease) {
      st = Register();
    } else if (auto ttl = client_.LeaseKeepAlive(lease); !ttl) {
      st = ttl.error();
    } else if (*ttl <= 0) {
      // etcd was out of reach longer than the lease: the key went with it.
      spdlog::warn("fleet: registry lease {:x} expired; registering again", lease);
      std::lock_guard lk(mu_);
      lease_ = 0;
      continue;
    }
    if (st) {
      SetHealth(&registry_ok_, true, "");
      backoff = 100ms;
      if (!Sleep(period)) return;
    } else {
      SetHealth(&registry_ok_, false, "host registry: " + st.error().message);
      if (!Sleep(backoff)) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, period);
    }
  }
}

std::optional<std::string> Agent::UuidOf(uint32_t domid) const {
  std::string uuid;
  if (scopes_) uuid = scopes_->UuidOf(domid).value_or("");
  if (uuid.empty()) {
    for (const auto& d : backend_.Domains()) {
      if (d.domid == domid) uuid = d.uuid;
    }
  }
  auto c = CanonicalUuid(uuid);
  if (!c) return std::nullopt;
  return *c;
}

Status Agent::Ready() const {
  std::lock_guard lk(mu_);
  if (known_) return Status::Ok();
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("fleet policy not known yet: host {} has not reached etcd ({}) "
                               "since it joined the fleet",
                               opts_.host, !watch_ok_ ? watch_why_ : "connecting"));
}

std::optional<Policy> Agent::DomainPolicy(uint32_t domid) const {
  auto uuid = UuidOf(domid);
  if (!uuid) return std::nullopt;
  std::lock_guard lk(mu_);
  return state_.DomainPolicy(*uuid);
}

std::optional<Policy> Agent::DefaultPolicy() const {
  std::lock_guard lk(mu_);
  return state_.DefaultPolicy();
}

bool Agent::Approved(const std::string& sha256) const {
  std::lock_guard lk(mu_);
  return state_.Approved(sha256);
}

fleetv1::FleetStatus Agent::Report() const {
  fleetv1::FleetStatus s;
  s.set_host(opts_.host);
  for (const auto& e : client_.endpoints()) s.add_endpoints(e);
  s.set_endpoint(client_.current_endpoint());
  std::lock_guard lk(mu_);
  s.set_degraded(!(watch_ok_ && registry_ok_));
  if (s.degraded()) s.set_reason(!watch_ok_ ? watch_why_ : registry_why_);
  s.set_since_unix_ms(since_ms_);
  s.set_revision(state_.revision());
  s.set_last_sync_unix_ms(last_sync_ms_);
  s.set_state_known(known_);
  s.set_registered(registry_ok_);
  s.set_lease_id(lease_);
  s.set_has_fleet_policy(state_.has_fleet_policy());
  s.set_has_host_policy(state_.has_host_policy());
  s.set_domain_policies(static_cast<uint32_t>(state_.domain_policies()));
  s.set_approvals(static_cast<uint32_t>(state_.approvals()));
  s.set_changes_applied(changes_);
  s.set_resyncs(resyncs_);
  for (const auto& k : state_.invalid()) s.add_invalid_keys(k);
  return s;
}

}  // namespace hu::fleet

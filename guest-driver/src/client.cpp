#include "hyperupcall/guest/client.hpp"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>

namespace hu::guest {
namespace {

const char* StateName(grpc_connectivity_state s) {
  switch (s) {
    case GRPC_CHANNEL_IDLE:
      return "idle";
    case GRPC_CHANNEL_CONNECTING:
      return "connecting";
    case GRPC_CHANNEL_READY:
      return "ready";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "failing to connect";
    case GRPC_CHANNEL_SHUTDOWN:
      return "shut down";
  }
  return "unknown";
}

// hyperupcalld refuses a call that is past one of the guest's limits
// (requests in flight, request rate) before doing anything with it, and
// says when to try again: such a call is safe to repeat, even a
// registration. How long it advises, or nullopt when it did not refuse so.
std::optional<std::chrono::milliseconds> RetryAfter(const grpc::ClientContext& ctx,
                                                    const grpc::Status& st) {
  if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) return std::nullopt;
  const auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find("hu-retry-after-ms");
  if (it == md.end()) return std::nullopt;
  int64_t ms = 0;
  const char* b = it->second.data();
  if (std::from_chars(b, b + it->second.size(), ms).ec != std::errc()) return std::nullopt;
  // Spread the retries of many callers refused at once.
  static thread_local std::minstd_rand rng(std::random_device{}());
  ms = std::clamp<int64_t>(ms, 5, 1000);
  return std::chrono::milliseconds(ms + static_cast<int64_t>(rng() % (ms / 2 + 1)));
}

// 128 random bits as hex: unique among a guest's requests.
std::string NewRequestId() {
  std::random_device rd;
  char out[33];
  snprintf(out, sizeof out, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return out;
}

}  // namespace

template <class Req, class Resp, class Fn>
CallResult<Resp> GuestClient::Call(const char* what, const Req& req, bool idempotent, Fn fn) {
  using Clock = std::chrono::system_clock;
  const auto deadline = Clock::now() + timeout_;
  auto backoff = std::chrono::milliseconds(100);
  CallResult<Resp> out;
  while (true) {
    auto channel = transport_->Channel();
    if (std::string fatal = transport_->Unusable(); !fatal.empty()) {
      out.error = std::make_unique<CallError>();
      out.error->transport = true;
      out.error->grpc_code = static_cast<int>(grpc::StatusCode::UNAVAILABLE);
      out.error->message = std::string(what) + ": " + fatal;
      return out;
    }
    auto stub = gv1::GuestService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    ctx.set_wait_for_ready(true);  // ride out a daemon that is (re)starting
    Resp resp;
    grpc::Status st = fn(*stub, &ctx, req, &resp);
    if (st.ok()) {
      out.value = std::move(resp);
      return out;
    }
    if (auto wait = RetryAfter(ctx, st); wait && Clock::now() + *wait < deadline) {
      std::this_thread::sleep_for(*wait);
      continue;
    }
    const bool broken = st.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (broken) transport_->Reset();
    if (broken && idempotent && Clock::now() + backoff < deadline) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    out.error = std::make_unique<CallError>();
    out.error->grpc_code = st.error_code();
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED || broken) {
      out.error->transport = true;
      const auto secs = std::chrono::duration<double>(timeout_).count();
      std::string why = transport_->Diagnose();
      if (broken && !idempotent) {
        out.error->message = std::string(what) + ": connection to hyperupcalld at " +
                             transport_->Describe() + " broke during the request (" +
                             st.error_message() +
                             "); it may or may not have been recorded: check with "
                             "`hyperupcall list`";
      } else {
        char t[32];
        snprintf(t, sizeof t, "%g", secs);
        out.error->message = std::string(what) + ": no answer from hyperupcalld at " +
                             transport_->Describe() + " within " + t + "s (channel " +
                             StateName(channel->GetState(false)) + ")" +
                             (why.empty() ? "" : ": " + why);
      }
    } else {
      out.error->message = st.error_message();
    }
    return out;
  }
}

CallResult<gv1::RegisterProgramResponse> GuestClient::Register(
    const gv1::RegisterProgramRequest& req) {
  // A token makes the call safe to repeat: the daemon answers a retry with
  // the first call's answer instead of registering the program again.
  gv1::RegisterProgramRequest with_token = req;
  if (with_token.request_id().empty()) with_token.set_request_id(NewRequestId());
  return Call<gv1::RegisterProgramRequest, gv1::RegisterProgramResponse>(
      "register", with_token, /*idempotent=*/true,
      [](auto& stub, auto* ctx, const auto& r, auto* resp) {
        return stub.RegisterProgram(ctx, r, resp);
      });
}

CallResult<gv1::UnregisterProgramResponse> GuestClient::Unregister(
    const gv1::UnregisterProgramRequest& req) {
  // Repeating it is harmless: the worst case is NOT_FOUND for a program the
  // first attempt already removed, which the tool reports.
  return Call<gv1::UnregisterProgramRequest, gv1::UnregisterProgramResponse>(
      "unload", req, /*idempotent=*/true, [](auto& stub, auto* ctx, const auto& r, auto* resp) {
        return stub.UnregisterProgram(ctx, r, resp);
      });
}

CallResult<gv1::GuestStatsResponse> GuestClient::Stats(const gv1::GuestStatsRequest& req) {
  return Call<gv1::GuestStatsRequest, gv1::GuestStatsResponse>(
      "stats", req, /*idempotent=*/true,
      [](auto& stub, auto* ctx, const auto& r, auto* resp) { return stub.GetStats(ctx, r, resp); });
}

CallResult<gv1::ReadTraceResponse> GuestClient::ReadTrace(const gv1::ReadTraceRequest& req) {
  return Call<gv1::ReadTraceRequest, gv1::ReadTraceResponse>(
      "trace", req, /*idempotent=*/true, [](auto& stub, auto* ctx, const auto& r, auto* resp) {
        return stub.ReadTrace(ctx, r, resp);
      });
}

CallResult<gv1::ListProgramsResponse> GuestClient::List(const gv1::ListProgramsRequest& req) {
  return Call<gv1::ListProgramsRequest, gv1::ListProgramsResponse>(
      "list", req, /*idempotent=*/true, [](auto& stub, auto* ctx, const auto& r, auto* resp) {
        return stub.ListPrograms(ctx, r, resp);
      });
}

CallResult<gv1::ReadMapResponse> GuestClient::ReadMap(const gv1::ReadMapRequest& req) {
  return Call<gv1::ReadMapRequest, gv1::ReadMapResponse>(
      "map dump", req, /*idempotent=*/true,
      [](auto& stub, auto* ctx, const auto& r, auto* resp) { return stub.ReadMap(ctx, r, resp); });
}

}  // namespace hu::guest

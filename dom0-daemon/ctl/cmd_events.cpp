#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct EventsArgs {
  std::string domain;  // name, UUID or id; empty: none
  bool no_trace = false;
  uint64_t count = 0;
  uint64_t since = 0;
};

}  // namespace

void AddEventsCommand(CLI::App& app, Context& ctx, int& rc) {
  static EventsArgs a;
  auto* ev = app.add_subcommand("events", "follow the daemon's events until interrupted");
  ev->add_option("--domain", a.domain, "only this domain (libvirt name, UUID or id)");
  ev->add_flag("--no-trace", a.no_trace, "leave out trace ring records");
  ev->add_option("--count", a.count, "stop after N events (0: never)");
  ev->add_option("--since", a.since,
                 "first replay the decisions after this audit seq (`audit_seq` of an event, "
                 "`seq` of `audit`; kept across daemon restarts), then follow");
  ev->callback([&] {
    opv1::EventsRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    req.set_no_trace(a.no_trace);
    req.set_since_seq(a.since);
    auto c = ctx.Call(/*stream=*/true);
    auto reader = ctx.Stub().Events(c.get(), req);
    opv1::Event e;
    uint64_t n = 0;
    while (reader->Read(&e)) {
      // One event per line, also with --json, so the output can be piped.
      if (ctx.json) {
        fmt::print("{}\n", ToJson(e).dump());
      } else {
        fmt::print("{}\n", EventLine(e));
      }
      std::fflush(stdout);
      if (a.count && ++n >= a.count) {
        c->TryCancel();
        break;
      }
    }
    auto st = reader->Finish();
    if (!st.ok() && !(a.count && n >= a.count)) rc = Fail(ctx, st);
  });
}

}  // namespace hu::ctl

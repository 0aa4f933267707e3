// hu-xen-channel: carries one domU's guest channel to hyperupcalld, for a
// daemon that does not join channels itself (hyperupcalld --backend xen
// does, see README.md) or for debugging one. The relay is ChannelRelay
// (channel_relay.hpp); this process lives until the channel closes (the
// domain went away).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "channel_relay.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hu-xen-channel: joins a domU's Xen channel to hyperupcalld"};
  std::string channel;
  std::string guest_dir = "/run/hyperupcall/guests";
  uint32_t domid = 0;
  int wait_s = 60;
  app.add_option("--channel", channel, "dom0 end of the domain's xl.cfg channel (unix socket)")
      ->required();
  app.add_option("--domid", domid, "the domain that channel belongs to")->required();
  app.add_option("--guest-socket-dir", guest_dir, "hyperupcalld's --guest-socket-dir");
  app.add_option("--wait", wait_s, "seconds to wait for the channel socket");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  hu::xen::ChannelRelay relay(
      channel, domid, guest_dir + "/" + std::to_string(domid) + ".sock",
      [](const std::string& line) { std::fprintf(stderr, "hu-xen-channel: %s\n", line.c_str()); });
  relay.Start(wait_s);
  while (!relay.finished()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int rc = relay.exit_code();
  relay.Stop();
  return rc;
}

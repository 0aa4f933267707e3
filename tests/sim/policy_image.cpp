#include "policy_image.hpp"

#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/guest/loader.hpp"
#include "hyperupcall/guest/region.hpp"

namespace hu::simtest {

std::string PolicyDir() { return HU_POLICY_DIR; }

Result<daemon::ProgramImage> LoadPolicyImage(const std::string& name,
                                             const std::string& kallsyms_path, uint64_t id,
                                             uint32_t domid) {
  auto obj = guest::BpfObject::FromFile(PolicyDir() + "/" + name + ".bpf.o");
  if (!obj.ok()) return obj.error();
  const auto progs = obj->programs();
  if (progs.size() != 1)
    return MakeError(ErrorCode::kInvalidArgument, name + ": expected one program");
  auto ksyms = guest::Kallsyms::Load(kallsyms_path);
  if (!ksyms.ok()) return ksyms.error();
  auto prog = obj->Link(progs[0].name, &*ksyms);
  if (!prog.ok()) return prog.error();
  auto manifest = guest::LoadManifest(PolicyDir() + "/" + name + ".manifest.json");
  if (!manifest.ok()) return manifest.error();
  if (manifest->hook_id != progs[0].hook)
    return MakeError(ErrorCode::kInvalidArgument, name + ": manifest and SEC() disagree on hook");
  auto regions = guest::ResolveRegions(manifest->regions, &*ksyms);
  if (!regions.ok()) return regions.error();

  daemon::ProgramImage img;
  img.id = id;
  img.domid = domid;
  img.hook = progs[0].hook;
  img.name = prog->info.name;
  img.insns = prog->insns;
  for (const auto& m : prog->maps) img.maps.push_back({m.name, m.def});
  img.regions = *regions;
  return img;
}

}  // namespace hu::simtest

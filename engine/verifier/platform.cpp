// The hook ABI as a verifier platform: context layouts come from abi.h with
// offsetof, so a field added there only needs one line here.
#include "platform.hpp"

#include <cstddef>

namespace hu::verifier {
namespace {

#define HU_FIELD(type, member) \
  CtxField { offsetof(type, member), sizeof(((type*)nullptr)->member), #member }
#define HU_ARRAY_FIELD(type, member, i)                                 \
  CtxField {                                                            \
    offsetof(type, member) + (i) * sizeof(((type*)nullptr)->member[0]), \
        sizeof(((type*)nullptr)->member[0]), #member "[" #i "]"         \
  }

std::vector<ContextLayout> MakeContexts() {
  std::vector<ContextLayout> c(HU_HOOK_MAX);
  c[HU_HOOK_MEM_RECLAIM] = {
      "struct hu_ctx_mem_reclaim",
      sizeof(hu_ctx_mem_reclaim),
      {HU_FIELD(hu_ctx_mem_reclaim, gfn), HU_FIELD(hu_ctx_mem_reclaim, gpa),
       HU_FIELD(hu_ctx_mem_reclaim, guest_frames), HU_FIELD(hu_ctx_mem_reclaim, domid),
       HU_FIELD(hu_ctx_mem_reclaim, reason)}};
  c[HU_HOOK_TLB_FLUSH] = {
      "struct hu_ctx_tlb_flush",
      sizeof(hu_ctx_tlb_flush),
      {HU_FIELD(hu_ctx_tlb_flush, src_vcpu), HU_FIELD(hu_ctx_tlb_flush, dst_vcpu),
       HU_FIELD(hu_ctx_tlb_flush, va), HU_FIELD(hu_ctx_tlb_flush, nr_pages),
       HU_FIELD(hu_ctx_tlb_flush, dst_cr3), HU_FIELD(hu_ctx_tlb_flush, flags),
       HU_FIELD(hu_ctx_tlb_flush, dst_descheduled_us), HU_FIELD(hu_ctx_tlb_flush, ipi),
       HU_FIELD(hu_ctx_tlb_flush, dst_state)}};
  c[HU_HOOK_SCHED_PREEMPT] = {
      "struct hu_ctx_sched_preempt",
      sizeof(hu_ctx_sched_preempt),
      {HU_FIELD(hu_ctx_sched_preempt, vcpu), HU_FIELD(hu_ctx_sched_preempt, pcpu),
       HU_FIELD(hu_ctx_sched_preempt, ran_ns), HU_FIELD(hu_ctx_sched_preempt, rip),
       HU_FIELD(hu_ctx_sched_preempt, rsp), HU_FIELD(hu_ctx_sched_preempt, gs_base),
       HU_FIELD(hu_ctx_sched_preempt, cr3), HU_FIELD(hu_ctx_sched_preempt, cpl),
       HU_FIELD(hu_ctx_sched_preempt, reason), HU_FIELD(hu_ctx_sched_preempt, kernel_gs_base),
       HU_FIELD(hu_ctx_sched_preempt, rflags), HU_FIELD(hu_ctx_sched_preempt, competitor_domid),
       HU_FIELD(hu_ctx_sched_preempt, reserved)}};
  c[HU_HOOK_TRACE_EXIT] = {
      "struct hu_ctx_trace_exit",
      sizeof(hu_ctx_trace_exit),
      {HU_FIELD(hu_ctx_trace_exit, vcpu), HU_FIELD(hu_ctx_trace_exit, kind),
       HU_FIELD(hu_ctx_trace_exit, code), HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 0),
       HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 1), HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 2),
       HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 3), HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 4),
       HU_ARRAY_FIELD(hu_ctx_trace_exit, args, 5), HU_FIELD(hu_ctx_trace_exit, rip),
       HU_FIELD(hu_ctx_trace_exit, time_ns)}};
  c[HU_HOOK_MEM_PROTECT] = {
      "struct hu_ctx_mem_protect",
      sizeof(hu_ctx_mem_protect),
      {HU_FIELD(hu_ctx_mem_protect, gpa), HU_FIELD(hu_ctx_mem_protect, gva),
       HU_FIELD(hu_ctx_mem_protect, rip), HU_FIELD(hu_ctx_mem_protect, value),
       HU_FIELD(hu_ctx_mem_protect, vcpu), HU_FIELD(hu_ctx_mem_protect, size)}};
  return c;
}

std::vector<HelperProto> MakeHelpers() {
  using A = Arg;
  std::vector<HelperProto> h(HU_HELPER_MAX);
  h[HU_HELPER_MAP_LOOKUP] = {"map_lookup_elem", Ret::kMapValueOrNull, {A::kMapPtr, A::kMapKey}};
  h[HU_HELPER_MAP_UPDATE] = {
      "map_update_elem", Ret::kScalar, {A::kMapPtr, A::kMapKey, A::kMapValue, A::kAnything}};
  h[HU_HELPER_MAP_DELETE] = {"map_delete_elem", Ret::kScalar, {A::kMapPtr, A::kMapKey}};
  h[HU_HELPER_READ_GVA] = {"read_gva", Ret::kScalar, {A::kMemWrite, A::kSize, A::kAnything}};
  h[HU_HELPER_READ_GPA] = {"read_gpa", Ret::kScalar, {A::kMemWrite, A::kSize, A::kAnything}};
  h[HU_HELPER_WRITE_GVA] = {"write_gva", Ret::kScalar, {A::kAnything, A::kMemRead, A::kSize}};
  h[HU_HELPER_TRACE_OUTPUT] = {"trace_output", Ret::kScalar, {A::kMemRead, A::kSize}};
  h[HU_HELPER_TRACE_OUTPUT].max_size = HU_TRACE_MAX_RECORD;
  h[HU_HELPER_KTIME_NS] = {"ktime_ns", Ret::kScalar, {}};
  h[HU_HELPER_VCPU_STATE] = {"vcpu_state", Ret::kScalar, {A::kAnything, A::kMemWrite, A::kSize}};
  h[HU_HELPER_VCPU_STATE].max_size = sizeof(hu_vcpu_state);
  return h;
}

class AbiPlatform final : public Platform {
 public:
  const char* Name(hu_hook_id hook) const override { return HookName(hook); }
  std::vector<EntryArg> Entry(hu_hook_id hook) const override {
    if (Context(hook) == nullptr) return {};
    return {EntryArg{EntryArg::Type::kCtx}};
  }
  const ContextLayout* Context(hu_hook_id hook) const override {
    if (hook <= HU_HOOK_NONE || hook >= HU_HOOK_MAX) return nullptr;
    return &contexts_[hook];
  }
  const HelperProto* Helper(int32_t id) const override {
    if (id <= 0 || id >= HU_HELPER_MAX) return nullptr;
    return &helpers_[id];
  }
  bool HelperAllowed(hu_hook_id hook, int32_t id) const override {
    // Writing guest memory is for the hooks whose purpose needs it.
    if (id == HU_HELPER_WRITE_GVA) return hook == HU_HOOK_TLB_FLUSH || hook == HU_HOOK_MEM_PROTECT;
    return Helper(id) != nullptr;
  }

 private:
  std::vector<ContextLayout> contexts_ = MakeContexts();
  std::vector<HelperProto> helpers_ = MakeHelpers();
};

}  // namespace

const Platform& HookPlatform() {
  static const AbiPlatform platform;
  return platform;
}

}  // namespace hu::verifier

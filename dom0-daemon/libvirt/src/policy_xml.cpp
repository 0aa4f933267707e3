// Strict reader and writer of the <policy> metadata element (libxml2).
// The element comes from a file any operator can edit, so every fault is
// reported with its line and the element it was found in.
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <array>
#include <charconv>
#include <memory>
#include <set>
#include <sstream>

#include "hyperupcall/daemon/libvirt_policy.hpp"

namespace hu::daemon {
namespace {

// Names as in abi.h's comments; the numbers are the ABI ids.
constexpr std::array<const char*, HU_HOOK_MAX> kHookNames = {
    nullptr, "mem.reclaim", "tlb.flush", "sched.preempt", "trace.exit", "mem.protect",
};
constexpr std::array<const char*, HU_HELPER_MAX> kHelperNames = {
    nullptr,    "map_lookup_elem", "map_update_elem", "map_delete_elem", "read_gva",
    "read_gpa", "write_gva",       "trace_output",    "ktime_ns",        "vcpu_state",
};

std::string Str(const xmlChar* s) { return s ? reinterpret_cast<const char*>(s) : ""; }
const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
struct XmlFree {
  void operator()(xmlChar* s) const { xmlFree(s); }
};

Error Fault(const xmlNode* node, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "policy metadata line " + std::to_string(xmlGetLineNo(node)) + ": " + what);
}

std::string Tag(const xmlNode* node) { return "<" + Str(node->name) + ">"; }

// No namespace (libvirt strips it) or ours; anything else is someone
// else's element that has no business inside our policy.
bool OurNamespace(const xmlNode* node) {
  return node->ns == nullptr || Str(node->ns->href) == kLibvirtPolicyNamespace;
}

Status NoAttributes(const xmlNode* node, const char* allowed = nullptr) {
  for (const xmlAttr* a = node->properties; a; a = a->next) {
    if (allowed && Str(a->name) == allowed && a->ns == nullptr) continue;
    return Fault(node, Tag(node) + ": unknown attribute '" + Str(a->name) + "'");
  }
  return Status::Ok();
}

std::string Trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The text of a leaf element; child elements are an error.
Result<std::string> LeafText(const xmlNode* node) {
  std::string text;
  for (const xmlNode* c = node->children; c; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      text += Str(c->content);
    } else if (c->type == XML_ELEMENT_NODE) {
      return Fault(c, Tag(node) + " holds a value, not the element " + Tag(c));
    }
  }
  if (Status s = NoAttributes(node); !s) return s.error();
  return Trimmed(text);
}

Result<uint64_t> Number(const xmlNode* node, uint64_t min, uint64_t max) {
  auto text = LeafText(node);
  if (!text) return text.error();
  const std::string& t = *text;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || t[0] == '+' || ec == std::errc::invalid_argument || end != t.data() + t.size())
    return Fault(node, Tag(node) + ": '" + t + "' is not a decimal integer");
  if (ec == std::errc::result_out_of_range || v < min || v > max)
    return Fault(node, Tag(node) + ": " + t + " is out of range [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  return v;
}

Result<bool> Boolean(const xmlNode* node) {
  auto text = LeafText(node);
  if (!text) return text.error();
  if (*text == "yes" || *text == "true") return true;
  if (*text == "no" || *text == "false") return false;
  return Fault(node, Tag(node) + ": '" + *text + "' is not yes/no/true/false");
}

// Elements only, whitespace and comments between them.
Status CheckContent(const xmlNode* parent) {
  for (const xmlNode* c = parent->children; c; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
        !Trimmed(Str(c->content)).empty())
      return Fault(c, Tag(parent) + ": unexpected text '" + Trimmed(Str(c->content)) + "'");
    if (c->type == XML_ELEMENT_NODE && !OurNamespace(c))
      return Fault(c, Tag(parent) + ": element " + Tag(c) + " is in namespace '" +
                          Str(c->ns->href) + "', expected '" + kLibvirtPolicyNamespace + "'");
  }
  return Status::Ok();
}

// <hooks><hook name="..."/>...</hooks> and <helpers><helper name=".."/></helpers>.
template <class Lookup>
Result<uint64_t> NameList(const xmlNode* list, const char* item, Lookup lookup) {
  if (Status s = NoAttributes(list); !s) return s.error();
  if (Status s = CheckContent(list); !s) return s.error();
  uint64_t mask = 0;
  for (const xmlNode* c = list->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (Str(c->name) != item)
      return Fault(c, Tag(list) + ": unexpected element " + Tag(c) + ", expected <" + item + ">");
    if (Status s = NoAttributes(c, "name"); !s) return s.error();
    if (Status s = CheckContent(c); !s) return s.error();
    if (c->children && xmlFirstElementChild(const_cast<xmlNode*>(c)))
      return Fault(c, Tag(c) + " takes no child elements");
    std::unique_ptr<xmlChar, XmlFree> name(xmlGetNoNsProp(c, X("name")));
    if (!name) return Fault(c, Tag(c) + ": missing attribute 'name'");
    std::string n = Str(name.get());
    int id = lookup(n);
    if (id == 0) return Fault(c, Tag(c) + ": unknown " + item + " '" + n + "'");
    if (mask & (1ull << id)) return Fault(c, Tag(c) + ": " + item + " '" + n + "' listed twice");
    mask |= 1ull << id;
  }
  return mask;
}

Status ParseChild(const xmlNode* c, LibvirtPolicy& p) {
  const std::string name = Str(c->name);
  if (name == "hooks") {
    auto m = NameList(c, "hook", [](const std::string& n) { return int(PolicyHookFromName(n)); });
    if (!m) return m.error();
    p.allowed_hooks = uint32_t(*m);
  } else if (name == "helpers") {
    auto m =
        NameList(c, "helper", [](const std::string& n) { return int(PolicyHelperFromName(n)); });
    if (!m) return m.error();
    p.allowed_helpers = *m;
  } else if (name == "max-instructions") {
    auto v = Number(c, 1, kPolicyMaxInstructionsLimit);
    if (!v) return v.error();
    p.max_instructions = uint32_t(*v);
  } else if (name == "run-budget") {
    auto v = Number(c, 1, kPolicyRunBudgetLimit);
    if (!v) return v.error();
    p.run_budget = *v;
  } else if (name == "max-programs") {
    auto v = Number(c, 0, kPolicyMaxProgramsLimit);
    if (!v) return v.error();
    p.max_programs = uint32_t(*v);
  } else if (name == "require-approval") {
    auto v = Boolean(c);
    if (!v) return v.error();
    p.require_approval = *v;
  } else if (name == "max-grace-us") {
    auto v = Number(c, 0, kPolicyMaxGraceUsLimit);
    if (!v) return v.error();
    p.max_grace_us = uint32_t(*v);
  } else {
    return Fault(c, "unknown element " + Tag(c) +
                        " in <policy> (known: hooks, helpers, max-instructions, run-budget, "
                        "max-programs, require-approval, max-grace-us)");
  }
  return Status::Ok();
}

void Leaf(std::ostringstream& out, const std::string& pfx, const char* name,
          const std::string& value) {
  out << "  <" << pfx << name << ">" << value << "</" << pfx << name << ">\n";
}

}  // namespace

const char* PolicyHookName(hu_hook_id hook) {
  return hook > HU_HOOK_NONE && hook < HU_HOOK_MAX ? kHookNames[hook] : nullptr;
}

hu_hook_id PolicyHookFromName(std::string_view name) {
  for (int i = 1; i < HU_HOOK_MAX; i++)
    if (name == kHookNames[i]) return hu_hook_id(i);
  return HU_HOOK_NONE;
}

const char* PolicyHelperName(hu_helper_id helper) {
  return helper > 0 && helper < HU_HELPER_MAX ? kHelperNames[helper] : nullptr;
}

hu_helper_id PolicyHelperFromName(std::string_view name) {
  for (int i = 1; i < HU_HELPER_MAX; i++)
    if (name == kHelperNames[i]) return hu_helper_id(i);
  return hu_helper_id(0);
}

bool LibvirtPolicy::empty() const { return *this == LibvirtPolicy{}; }

Result<LibvirtPolicy> ParseLibvirtPolicy(std::string_view xml) {
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return MakeError(ErrorCode::kInternal, "policy metadata: libxml2 out of memory");
  // No network, no entity substitution, no DTD loading; errors come back
  // through the context instead of being printed to stderr.
  const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, DocFree> doc(
      xmlCtxtReadMemory(ctxt.get(), xml.data(), int(xml.size()), "policy.xml", nullptr, opts));
  if (!doc) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string msg = e && e->message ? Trimmed(e->message) : "not well-formed XML";
    return MakeError(ErrorCode::kInvalidArgument,
                     "policy metadata line " + std::to_string(e ? e->line : 0) + ": " + msg);
  }
  if (doc->intSubset || doc->extSubset)
    return MakeError(ErrorCode::kInvalidArgument,
                     "policy metadata: a DOCTYPE is not allowed in policy metadata");
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || Str(root->name) != "policy")
    return MakeError(ErrorCode::kInvalidArgument, "policy metadata: root element is " +
                                                      (root ? Tag(root) : "missing") +
                                                      ", expected <policy>");
  if (!OurNamespace(root))
    return Fault(root, "<policy> is in namespace '" + Str(root->ns->href) + "', expected '" +
                           kLibvirtPolicyNamespace + "'");
  if (Status s = NoAttributes(root, "version"); !s) return s.error();
  if (xmlHasNsProp(root, X("version"), nullptr)) {
    std::unique_ptr<xmlChar, XmlFree> v(xmlGetNoNsProp(root, X("version")));
    if (Str(v.get()) != "1")
      return Fault(root, "<policy>: unsupported version '" + Str(v.get()) + "' (known: 1)");
  }
  if (Status s = CheckContent(root); !s) return s.error();

  LibvirtPolicy p;
  std::set<std::string> seen;
  for (const xmlNode* c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (!seen.insert(Str(c->name)).second)
      return Fault(c, Tag(c) + " appears more than once in <policy>");
    if (Status s = ParseChild(c, p); !s) return s.error();
  }
  return p;
}

std::string FormatLibvirtPolicy(const LibvirtPolicy& p, bool with_namespace) {
  const std::string pfx = with_namespace ? std::string(kLibvirtPolicyPrefix) + ":" : "";
  std::ostringstream out;
  out << "<" << pfx << "policy";
  if (with_namespace)
    out << " xmlns:" << kLibvirtPolicyPrefix << "=\"" << kLibvirtPolicyNamespace << "\"";
  out << " version=\"1\">\n";
  if (p.allowed_hooks) {
    out << "  <" << pfx << "hooks>\n";
    for (int i = 1; i < HU_HOOK_MAX; i++)
      if (*p.allowed_hooks & (1u << i))
        out << "    <" << pfx << "hook name=\"" << kHookNames[i] << "\"/>\n";
    out << "  </" << pfx << "hooks>\n";
  }
  if (p.allowed_helpers) {
    out << "  <" << pfx << "helpers>\n";
    for (int i = 1; i < HU_HELPER_MAX; i++)
      if (*p.allowed_helpers & (1ull << i))
        out << "    <" << pfx << "helper name=\"" << kHelperNames[i] << "\"/>\n";
    out << "  </" << pfx << "helpers>\n";
  }
  if (p.max_instructions) Leaf(out, pfx, "max-instructions", std::to_string(*p.max_instructions));
  if (p.run_budget) Leaf(out, pfx, "run-budget", std::to_string(*p.run_budget));
  if (p.max_programs) Leaf(out, pfx, "max-programs", std::to_string(*p.max_programs));
  if (p.require_approval) Leaf(out, pfx, "require-approval", *p.require_approval ? "yes" : "no");
  if (p.max_grace_us) Leaf(out, pfx, "max-grace-us", std::to_string(*p.max_grace_us));
  out << "</" << pfx << "policy>\n";
  return out.str();
}

std::string LibvirtPolicyFingerprint(const LibvirtPolicy& policy) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : FormatLibvirtPolicy(policy)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; i--, h >>= 4) out[size_t(i)] = kHex[h & 0xf];
  return out;
}

}  // namespace hu::daemon

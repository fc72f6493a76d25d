/*
 * A stand-in for the part of iphlpapi.dll the node agent uses (routes, interfaces, forwarding),
 * for the Linux unit tests of shared/host/backends/iphlpapi. It keeps an IP stack in memory:
 * interfaces the test declares (IphlpStandinAddInterface), routes the calls make. It decides as
 * little as the documentation lets it, but what it checks is what Windows checks:
 *
 *   - every row is read at the offsets this compiler gives the Windows structures below, which are
 *     asserted to be those of the real netioapi.h (sizes and offsets printed from mingw-w64's headers
 *     under Wine: MIB_IPFORWARD_ROW2 104 bytes, MIB_IPINTERFACE_ROW 168, MIB_UNICASTIPADDRESS_ROW 80),
 *     so a field the TypeScript adapter writes at the wrong place arrives wrong;
 *   - InitializeIpForwardEntry leaves SitePrefixLength, Metric and Protocol "set to illegal values"
 *     (netioapi.h docs), and CreateIpForwardEntry2 refuses a row that still has them;
 *   - GetIpInterfaceEntry returns SitePrefixLength 64 for IPv4, and SetIpInterfaceEntry refuses an
 *     IPv4 row whose SitePrefixLength is not 0 (ERROR_INVALID_PARAMETER: the documented quirk,
 *     stackoverflow.com/questions/54857292);
 *   - a route is identified by (interface, prefix, next hop): ERROR_OBJECT_ALREADY_EXISTS twice,
 *     ERROR_NOT_FOUND for an unknown interface or a missing route; host bits in the prefix are
 *     ERROR_INVALID_PARAMETER;
 *   - every table it returns is allocated, and counted until FreeMibTable frees it; a pointer it
 *     never returned, or one freed twice, is counted as a bad free.
 *
 * Every call is also written to a log the test reads (IphlpStandinLog), one line each, with the
 * decoded fields: the call sequences are asserted from it.
 *
 * Built with gcc -shared (test/standin/build.sh) into libiphlpstandin.so.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

#define NO_ERROR 0u
#define ERROR_INVALID_PARAMETER 87u
#define ERROR_NOT_FOUND 1168u
#define ERROR_OBJECT_ALREADY_EXISTS 5010u
#define AF_UNSPEC 0
#define AF_INET 2
#define AF_INET6 23

typedef struct { uint16_t sin_family; uint16_t sin_port; uint8_t sin_addr[4]; char sin_zero[8]; } SOCKADDR_IN;
typedef struct { uint16_t sin6_family; uint16_t sin6_port; uint32_t sin6_flowinfo; uint8_t sin6_addr[16]; uint32_t sin6_scope_id; } SOCKADDR_IN6;
typedef union { SOCKADDR_IN Ipv4; SOCKADDR_IN6 Ipv6; uint16_t si_family; } SOCKADDR_INET;
typedef struct { SOCKADDR_INET Prefix; uint8_t PrefixLength; } IP_ADDRESS_PREFIX;

typedef struct {
  uint64_t InterfaceLuid;
  uint32_t InterfaceIndex;
  IP_ADDRESS_PREFIX DestinationPrefix;
  SOCKADDR_INET NextHop;
  uint8_t SitePrefixLength;
  uint32_t ValidLifetime;
  uint32_t PreferredLifetime;
  uint32_t Metric;
  int32_t Protocol;
  uint8_t Loopback, AutoconfigureAddress, Publish, Immortal;
  uint32_t Age;
  int32_t Origin;
} MIB_IPFORWARD_ROW2;

typedef struct {
  uint16_t Family;
  uint64_t InterfaceLuid;
  uint32_t InterfaceIndex;
  uint32_t MaxReassemblySize;
  uint64_t InterfaceIdentifier;
  uint32_t MinRouterAdvertisementInterval, MaxRouterAdvertisementInterval;
  uint8_t AdvertisingEnabled, ForwardingEnabled, WeakHostSend, WeakHostReceive, UseAutomaticMetric, UseNeighborUnreachabilityDetection,
      ManagedAddressConfigurationSupported, OtherStatefulConfigurationSupported, AdvertiseDefaultRoute;
  int32_t RouterDiscoveryBehavior;
  uint32_t DadTransmits, BaseReachableTime, RetransmitTime, PathMtuDiscoveryTimeout;
  int32_t LinkLocalAddressBehavior;
  uint32_t LinkLocalAddressTimeout;
  uint32_t ZoneIndices[16];
  uint32_t SitePrefixLength, Metric, NlMtu;
  uint8_t Connected, SupportsWakeUpPatterns, SupportsNeighborDiscovery, SupportsRouterDiscovery;
  uint32_t ReachableTime;
  uint8_t TransmitOffload, ReceiveOffload, DisableDefaultRoutes;
} MIB_IPINTERFACE_ROW;

typedef struct {
  SOCKADDR_INET Address;
  uint64_t InterfaceLuid;
  uint32_t InterfaceIndex;
  int32_t PrefixOrigin, SuffixOrigin;
  uint32_t ValidLifetime, PreferredLifetime;
  uint8_t OnLinkPrefixLength, SkipAsSource;
  int32_t DadState;
  uint32_t ScopeId;
  int64_t CreationTimeStamp;
} MIB_UNICASTIPADDRESS_ROW;

/* The real headers' layout (x64), as printed from mingw-w64's netioapi.h. */
_Static_assert(sizeof(SOCKADDR_INET) == 28, "SOCKADDR_INET");
_Static_assert(sizeof(IP_ADDRESS_PREFIX) == 32, "IP_ADDRESS_PREFIX");
_Static_assert(sizeof(MIB_IPFORWARD_ROW2) == 104, "MIB_IPFORWARD_ROW2");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, DestinationPrefix) == 12, "DestinationPrefix");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, NextHop) == 44, "NextHop");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, SitePrefixLength) == 72, "SitePrefixLength");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Metric) == 84, "Metric");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Protocol) == 88, "Protocol");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Origin) == 100, "Origin");
_Static_assert(sizeof(MIB_IPINTERFACE_ROW) == 168, "MIB_IPINTERFACE_ROW");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, InterfaceLuid) == 8, "if InterfaceLuid");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, InterfaceIndex) == 16, "if InterfaceIndex");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, ForwardingEnabled) == 41, "ForwardingEnabled");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, ZoneIndices) == 80, "ZoneIndices");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, SitePrefixLength) == 144, "if SitePrefixLength");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, DisableDefaultRoutes) == 166, "DisableDefaultRoutes");
_Static_assert(sizeof(MIB_UNICASTIPADDRESS_ROW) == 80, "MIB_UNICASTIPADDRESS_ROW");
_Static_assert(offsetof(MIB_UNICASTIPADDRESS_ROW, InterfaceLuid) == 32, "addr InterfaceLuid");
_Static_assert(offsetof(MIB_UNICASTIPADDRESS_ROW, OnLinkPrefixLength) == 60, "OnLinkPrefixLength");

/* ---------------------------------------------------------------------------------------- */
/* State                                                                                    */

#define MAX_IFS 16
#define MAX_ADDRS 4
#define MAX_ROUTES 4096

typedef struct {
  uint32_t index;
  uint64_t luid;
  uint16_t alias[64];
  int addr_count;
  SOCKADDR_INET addrs[MAX_ADDRS];
  uint8_t plen[MAX_ADDRS];
  uint8_t forwarding[2]; /* [0] IPv4, [1] IPv6 */
} Iface;

static Iface ifs[MAX_IFS];
static int if_count;
static MIB_IPFORWARD_ROW2 routes[MAX_ROUTES];
static int route_count;
static void *tables[256];
static struct { long allocated, freed, bad_frees; } counters;
static char logbuf[1 << 20];
static size_t loglen;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void logf_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
  va_end(ap);
  if (n > 0 && loglen + (size_t)n < sizeof logbuf) loglen += (size_t)n;
}

static void fmt_addr(const SOCKADDR_INET *a, char *out, size_t len) {
  if (a->si_family == AF_INET) {
    const uint8_t *b = a->Ipv4.sin_addr;
    snprintf(out, len, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  } else if (a->si_family == AF_INET6) {
    const uint8_t *b = a->Ipv6.sin6_addr;
    size_t o = 0;
    for (int i = 0; i < 16; i += 2) o += (size_t)snprintf(out + o, len - o, "%s%x", i ? ":" : "", (b[i] << 8) | b[i + 1]);
  } else {
    snprintf(out, len, "family=%u", a->si_family);
  }
}

static Iface *find_if(uint64_t luid, uint32_t index) {
  for (int i = 0; i < if_count; i++) {
    if (luid ? ifs[i].luid == luid : ifs[i].index == index) return &ifs[i];
  }
  return NULL;
}

static int same_addr(const SOCKADDR_INET *a, const SOCKADDR_INET *b) {
  if (a->si_family != b->si_family) return 0;
  if (a->si_family == AF_INET) return memcmp(a->Ipv4.sin_addr, b->Ipv4.sin_addr, 4) == 0;
  return memcmp(a->Ipv6.sin6_addr, b->Ipv6.sin6_addr, 16) == 0;
}

static int has_host_bits(const IP_ADDRESS_PREFIX *p) {
  const uint8_t *b = p->Prefix.si_family == AF_INET ? p->Prefix.Ipv4.sin_addr : p->Prefix.Ipv6.sin6_addr;
  int bits = p->Prefix.si_family == AF_INET ? 32 : 128;
  if (p->PrefixLength > bits) return 1;
  for (int i = p->PrefixLength; i < bits; i++) if (b[i / 8] & (0x80 >> (i % 8))) return 1;
  return 0;
}

static void *alloc_table(size_t size) {
  void *t = calloc(1, size);
  for (int i = 0; i < 256; i++) {
    if (!tables[i]) {
      tables[i] = t;
      break;
    }
  }
  counters.allocated++;
  return t;
}

/* ---------------------------------------------------------------------------------------- */
/* Test controls                                                                            */

EXPORT void IphlpStandinReset(void) {
  if_count = 0;
  route_count = 0;
  loglen = 0;
  logbuf[0] = 0;
  memset(&counters, 0, sizeof counters);
}

/* An interface with one address (IPv4 when `v6` is 0: addr holds 4 bytes, else 16). */
EXPORT void IphlpStandinAddInterface(uint32_t index, uint64_t luid, const char *alias, int v6, const uint8_t *addr, uint8_t prefix_length) {
  Iface *f = find_if(0, index);
  if (!f) {
    f = &ifs[if_count++];
    memset(f, 0, sizeof *f);
    f->index = index;
    f->luid = luid;
    for (int i = 0; alias[i] && i < 63; i++) f->alias[i] = (uint8_t)alias[i];
  }
  SOCKADDR_INET *a = &f->addrs[f->addr_count];
  memset(a, 0, sizeof *a);
  a->si_family = v6 ? AF_INET6 : AF_INET;
  memcpy(v6 ? a->Ipv6.sin6_addr : a->Ipv4.sin_addr, addr, v6 ? 16 : 4);
  f->plen[f->addr_count++] = prefix_length;
}

/* The call log so far (NUL-terminated, one line per call). */
EXPORT const char *IphlpStandinLog(void) {
  logbuf[loglen] = 0;
  return logbuf;
}

EXPORT long IphlpStandinCounter(int which) {
  return which == 0 ? counters.allocated : which == 1 ? counters.freed : counters.bad_frees;
}

/* ---------------------------------------------------------------------------------------- */
/* iphlpapi                                                                                 */

EXPORT void InitializeIpForwardEntry(MIB_IPFORWARD_ROW2 *row) {
  memset(row, 0, sizeof *row);
  row->ValidLifetime = row->PreferredLifetime = 0xffffffffu;
  row->Loopback = row->AutoconfigureAddress = row->Publish = row->Immortal = 1;
  /* "set to illegal values" */
  row->SitePrefixLength = 0xff;
  row->Metric = 0xffffffffu;
  row->Protocol = -1;
  logf_("InitializeIpForwardEntry\n");
}

static uint32_t route_row_check(const char *call, const MIB_IPFORWARD_ROW2 *row, Iface **out) {
  char dst[64], hop[64];
  fmt_addr(&row->DestinationPrefix.Prefix, dst, sizeof dst);
  fmt_addr(&row->NextHop, hop, sizeof hop);
  logf_("%s luid=%llu if=%u dst=%s/%u hop=%s metric=%u proto=%d site=%u valid=%u pref=%u\n", call, (unsigned long long)row->InterfaceLuid, row->InterfaceIndex, dst,
        row->DestinationPrefix.PrefixLength, hop, row->Metric, row->Protocol, row->SitePrefixLength, row->ValidLifetime, row->PreferredLifetime);
  uint16_t fam = row->DestinationPrefix.Prefix.si_family;
  if ((fam != AF_INET && fam != AF_INET6) || row->NextHop.si_family != fam || has_host_bits(&row->DestinationPrefix)) return ERROR_INVALID_PARAMETER;
  *out = find_if(row->InterfaceLuid, row->InterfaceIndex);
  return *out ? NO_ERROR : ERROR_NOT_FOUND;
}

static int find_route(const Iface *f, const MIB_IPFORWARD_ROW2 *row) {
  for (int i = 0; i < route_count; i++) {
    const MIB_IPFORWARD_ROW2 *r = &routes[i];
    if (r->InterfaceIndex == f->index && r->DestinationPrefix.PrefixLength == row->DestinationPrefix.PrefixLength &&
        same_addr(&r->DestinationPrefix.Prefix, &row->DestinationPrefix.Prefix) && same_addr(&r->NextHop, &row->NextHop))
      return i;
  }
  return -1;
}

EXPORT uint32_t CreateIpForwardEntry2(const MIB_IPFORWARD_ROW2 *row) {
  Iface *f = NULL;
  uint32_t rc = route_row_check("CreateIpForwardEntry2", row, &f);
  if (rc) return rc;
  /* What InitializeIpForwardEntry left illegal must have been set. */
  if (row->SitePrefixLength == 0xff || row->Metric == 0xffffffffu || row->Protocol == -1) return ERROR_INVALID_PARAMETER;
  if (find_route(f, row) >= 0) return ERROR_OBJECT_ALREADY_EXISTS;
  if (route_count >= MAX_ROUTES) return 8; /* ERROR_NOT_ENOUGH_MEMORY */
  routes[route_count] = *row;
  routes[route_count].InterfaceLuid = f->luid;
  routes[route_count].InterfaceIndex = f->index;
  route_count++;
  return NO_ERROR;
}

EXPORT uint32_t DeleteIpForwardEntry2(const MIB_IPFORWARD_ROW2 *row) {
  Iface *f = NULL;
  uint32_t rc = route_row_check("DeleteIpForwardEntry2", row, &f);
  if (rc) return rc;
  int i = find_route(f, row);
  if (i < 0) return ERROR_NOT_FOUND;
  routes[i] = routes[--route_count];
  return NO_ERROR;
}

EXPORT uint32_t GetIpForwardTable2(uint16_t family, void **table) {
  logf_("GetIpForwardTable2 family=%u\n", family);
  if (!table) return ERROR_INVALID_PARAMETER;
  int n = 0;
  for (int i = 0; i < route_count; i++) if (family == AF_UNSPEC || routes[i].DestinationPrefix.Prefix.si_family == family) n++;
  uint8_t *t = alloc_table(8 + (size_t)n * sizeof(MIB_IPFORWARD_ROW2));
  *(uint32_t *)t = (uint32_t)n;
  MIB_IPFORWARD_ROW2 *rows = (MIB_IPFORWARD_ROW2 *)(t + 8);
  int k = 0;
  for (int i = 0; i < route_count; i++) if (family == AF_UNSPEC || routes[i].DestinationPrefix.Prefix.si_family == family) rows[k++] = routes[i];
  *table = t;
  return NO_ERROR;
}

EXPORT void InitializeIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  memset(row, 0, sizeof *row);
  row->SitePrefixLength = 0xffffffffu;
  logf_("InitializeIpInterfaceEntry\n");
}

static void fill_if_row(const Iface *f, uint16_t family, MIB_IPINTERFACE_ROW *row) {
  memset(row, 0, sizeof *row);
  row->Family = family;
  row->InterfaceLuid = f->luid;
  row->InterfaceIndex = f->index;
  row->ForwardingEnabled = f->forwarding[family == AF_INET6];
  /* What Get returns and Set refuses for IPv4 (the documented quirk). */
  row->SitePrefixLength = family == AF_INET ? 64 : 64;
  row->NlMtu = 1500;
  row->Connected = 1;
}

EXPORT uint32_t GetIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  logf_("GetIpInterfaceEntry family=%u luid=%llu if=%u\n", row->Family, (unsigned long long)row->InterfaceLuid, row->InterfaceIndex);
  if (row->Family != AF_INET && row->Family != AF_INET6) return ERROR_INVALID_PARAMETER;
  Iface *f = find_if(row->InterfaceLuid, row->InterfaceIndex);
  if (!f) return ERROR_NOT_FOUND;
  fill_if_row(f, row->Family, row);
  return NO_ERROR;
}

EXPORT uint32_t SetIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  logf_("SetIpInterfaceEntry family=%u luid=%llu if=%u forwarding=%u site=%u\n", row->Family, (unsigned long long)row->InterfaceLuid, row->InterfaceIndex, row->ForwardingEnabled,
        row->SitePrefixLength);
  if (row->Family != AF_INET && row->Family != AF_INET6) return ERROR_INVALID_PARAMETER;
  Iface *f = find_if(row->InterfaceLuid, row->InterfaceIndex);
  if (!f) return ERROR_NOT_FOUND;
  if (row->Family == AF_INET && row->SitePrefixLength != 0) return ERROR_INVALID_PARAMETER;
  f->forwarding[row->Family == AF_INET6] = row->ForwardingEnabled ? 1 : 0;
  return NO_ERROR;
}

EXPORT uint32_t GetIpInterfaceTable(uint16_t family, void **table) {
  logf_("GetIpInterfaceTable family=%u\n", family);
  if (!table) return ERROR_INVALID_PARAMETER;
  int per = family == AF_UNSPEC ? 2 : 1;
  uint8_t *t = alloc_table(8 + (size_t)(if_count * per) * sizeof(MIB_IPINTERFACE_ROW));
  *(uint32_t *)t = (uint32_t)(if_count * per);
  MIB_IPINTERFACE_ROW *rows = (MIB_IPINTERFACE_ROW *)(t + 8);
  int k = 0;
  for (int i = 0; i < if_count; i++) {
    if (family != AF_INET6) fill_if_row(&ifs[i], AF_INET, &rows[k++]);
    if (family != AF_INET) fill_if_row(&ifs[i], AF_INET6, &rows[k++]);
  }
  *table = t;
  return NO_ERROR;
}

EXPORT uint32_t GetUnicastIpAddressTable(uint16_t family, void **table) {
  logf_("GetUnicastIpAddressTable family=%u\n", family);
  if (!table) return ERROR_INVALID_PARAMETER;
  int n = 0;
  for (int i = 0; i < if_count; i++) n += ifs[i].addr_count;
  uint8_t *t = alloc_table(8 + (size_t)n * sizeof(MIB_UNICASTIPADDRESS_ROW));
  MIB_UNICASTIPADDRESS_ROW *rows = (MIB_UNICASTIPADDRESS_ROW *)(t + 8);
  int k = 0;
  for (int i = 0; i < if_count; i++) {
    for (int j = 0; j < ifs[i].addr_count; j++) {
      if (family != AF_UNSPEC && ifs[i].addrs[j].si_family != family) continue;
      rows[k].Address = ifs[i].addrs[j];
      rows[k].InterfaceLuid = ifs[i].luid;
      rows[k].InterfaceIndex = ifs[i].index;
      rows[k].OnLinkPrefixLength = ifs[i].plen[j];
      rows[k].ValidLifetime = rows[k].PreferredLifetime = 0xffffffffu;
      k++;
    }
  }
  *(uint32_t *)t = (uint32_t)k;
  *table = t;
  return NO_ERROR;
}

EXPORT uint32_t ConvertInterfaceLuidToAlias(const uint64_t *luid, uint16_t *alias, size_t length) {
  logf_("ConvertInterfaceLuidToAlias luid=%llu length=%zu\n", (unsigned long long)*luid, length);
  Iface *f = find_if(*luid, 0);
  if (!f) return ERROR_INVALID_PARAMETER;
  size_t n = 0;
  while (f->alias[n]) n++;
  if (n + 1 > length) return 122; /* ERROR_INSUFFICIENT_BUFFER */
  memcpy(alias, f->alias, (n + 1) * sizeof(uint16_t));
  return NO_ERROR;
}

EXPORT void FreeMibTable(void *memory) {
  logf_("FreeMibTable\n");
  for (int i = 0; i < 256; i++) {
    if (memory && tables[i] == memory) {
      tables[i] = NULL;
      free(memory);
      counters.freed++;
      return;
    }
  }
  counters.bad_frees++;
}

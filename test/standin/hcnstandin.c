/*
 * A stand-in for computenetwork.dll (and vmcompute.dll!HNSCall) that holds no HCN logic.
 *
 * Every call is forwarded as one JSON line over a loopback TCP connection to a server
 * (tools/hns-server) that answers with one JSON line; this file only does what the real DLL's
 * client side does at the ABI: read the GUID struct, read UTF-16 arguments, hand back
 * CoTaskMemAlloc'ed UTF-16 strings and pointer-sized handles through the out-parameters.
 * That is exactly the surface the TypeScript adapter (shared/hns/backends/hcn) must get right,
 * so the server sees what the adapter really put in memory:
 *   - the GUID is formatted from the struct fields (Data1/2/3 little-endian, Data4 raw), so a
 *     wrong byte order on the caller's side arrives as a different GUID;
 *   - strings are converted UTF-16 -> UTF-8 here, unpaired surrogates as \uXXXX escapes;
 *   - handles travel as hex text of the full 64-bit value.
 *
 * It counts strings allocated vs freed and handles opened vs closed (StandinCounters), so tests
 * can prove that every returned string was freed exactly once and every handle closed.
 *
 * Built two ways (test/standin/build.sh):
 *   gcc -shared -fPIC                 -> libhcnstandin.so   (Linux unit tests; also exports
 *                                        CoTaskMemAlloc/CoTaskMemFree, since there is no ole32)
 *   x86_64-w64-mingw32-gcc -shared    -> computenetwork.dll, copied as vmcompute.dll (Wine test;
 *                                        uses the real ole32, counts frees with an IMallocSpy)
 *
 * Wire protocol (one request per connection, both lines UTF-8 JSON ending in '\n'):
 *   request  {"fn":"HcnCreateNetwork","id":"<GUID>","handle":"0x..","settings":"..","query":"..",
 *             "method":"..","path":"..","request":"..","wantsRecord":true}   (only the fields the
 *             function has; a NULL pointer is null)
 *   answer   {"hr":<signed int32>,"out":"..."|null,"record":"..."|null,"handle":"0x.."|null}
 *   report   {"fn":"StandinCounters","module":"..","counters":{...}}  (Windows, at unload; no answer)
 * The address comes from HCN_STANDIN_ADDR=127.0.0.1:<port>.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <objbase.h>
/* The real header: the compiler checks every definition below against Microsoft's signatures. */
#include <computenetwork.h>
#define EXPORT __declspec(dllexport)
typedef SOCKET sock_t;
#define BAD_SOCK INVALID_SOCKET
#define sock_close closesocket
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#define EXPORT __attribute__((visibility("default")))
#define WINAPI
typedef int32_t HRESULT;
typedef uint16_t WCHAR;
typedef const WCHAR *PCWSTR;
typedef WCHAR *PWSTR;
typedef struct { uint32_t Data1; uint16_t Data2; uint16_t Data3; uint8_t Data4[8]; } GUID;
typedef const GUID *REFGUID;
typedef void *HCN_NETWORK, *HCN_ENDPOINT, *HCN_NAMESPACE;
typedef HCN_NETWORK *PHCN_NETWORK;
typedef HCN_ENDPOINT *PHCN_ENDPOINT;
typedef HCN_NAMESPACE *PHCN_NAMESPACE;
typedef int sock_t;
#define BAD_SOCK (-1)
#define sock_close close
#endif

#define E_STANDIN_TRANSPORT ((HRESULT)0x800706BA) /* RPC_S_SERVER_UNAVAILABLE: server unreachable */
#define E_STANDIN_PROTOCOL ((HRESULT)0x8000FFFF)  /* E_UNEXPECTED: the answer made no sense */

/* ------------------------------------------------------------------------------------------ */
/* Counters                                                                                   */

enum {
  C_STRINGS_ALLOCATED, C_STRINGS_FREED, C_BAD_FREES, C_HANDLES_OPENED, C_HANDLES_CLOSED, C_CALLS,
  C_FREE_COUNTING, /* 1 when frees are observed (always on Linux; on Windows when the spy is in) */
  C_COUNT
};
static int64_t counters[C_COUNT];

static void count(int which, int64_t n) { __atomic_fetch_add(&counters[which], n, __ATOMIC_SEQ_CST); }

/* koffi calls on worker threads; a spin lock keeps this file free of platform thread APIs and is
 * held only for a few instructions. */
static volatile char table_lock;
static void lock(void) { while (__atomic_test_and_set(&table_lock, __ATOMIC_ACQUIRE)) {} }
static void unlock(void) { __atomic_clear(&table_lock, __ATOMIC_RELEASE); }

/* The strings this library handed out and that are not freed yet: a free of anything else is a
 * double free (or a foreign pointer) and is counted, not performed. */
static void **live;
static size_t live_len, live_cap;

static void live_add(void *p) {
  lock();
  if (live_len == live_cap) {
    size_t cap = live_cap ? live_cap * 2 : 64;
    void **grown = realloc(live, cap * sizeof *live);
    if (!grown) { unlock(); return; }
    live = grown;
    live_cap = cap;
  }
  live[live_len++] = p;
  unlock();
}

/* Removes p from the live set; 1 when it was there. */
static int live_remove(void *p) {
  int found = 0;
  lock();
  for (size_t i = 0; i < live_len; i++) {
    if (live[i] == p) { live[i] = live[--live_len]; found = 1; break; }
  }
  unlock();
  return found;
}

/* Fills values[0..capacity) with the counters; returns how many exist. Order:
 * strings allocated, strings freed, bad frees, handles opened, handles closed, calls, free counting. */
EXPORT uint32_t StandinCounters(int64_t *values, uint32_t capacity) {
  for (uint32_t i = 0; i < capacity && i < C_COUNT; i++) values[i] = __atomic_load_n(&counters[i], __ATOMIC_SEQ_CST);
  return C_COUNT;
}

/* ------------------------------------------------------------------------------------------ */
/* Task memory                                                                                */

#ifdef _WIN32
/* The real CoTaskMemFree is in ole32, so frees are seen through an IMallocSpy: Wine's combase
 * implements CoRegisterMallocSpy and calls PreFree for every CoTaskMemFree (checked under Wine 8.0:
 * freed and double-freed strings are both counted). The spy sees every CoTaskMemFree in the
 * process, so here C_BAD_FREES also counts frees of memory some other component allocated; a test
 * should hold stringsFreed == stringsAllocated and read bad frees as a hint. A double free is
 * still performed (the spy cannot tell it from a foreign pointer); Wine's heap tolerates it. */
/* The same file is loaded twice, as computenetwork.dll and as vmcompute.dll, and a process has one
 * spy: the first copy registers it, and a free it does not own is offered to the other copy (its
 * StandinClaimFree export) before it counts as bad. The other copy's counters then stay exact. */
static HMODULE self_module;
static const wchar_t *const sibling_names[] = { L"computenetwork.dll", L"vmcompute.dll" };
typedef int (*claim_fn)(void *);
typedef int (*spying_fn)(void);

static FARPROC sibling_export(const wchar_t *name, const char *export_name) {
  HMODULE h = GetModuleHandleW(name);
  return h && h != self_module ? GetProcAddress(h, export_name) : NULL;
}

/* 1 when p was a live string of this copy (now counted as freed). */
EXPORT int StandinClaimFree(void *p) {
  if (!p || !live_remove(p)) return 0;
  count(C_STRINGS_FREED, 1);
  return 1;
}

static int spy_registered;

/* 1 when this copy's spy is the process's spy. */
EXPORT int StandinSpying(void) { return spy_registered; }

static void *WINAPI spy_pre_free(IMallocSpy *self, void *p, BOOL spyed) {
  (void)self; (void)spyed;
  if (!p || StandinClaimFree(p)) return p;
  for (size_t i = 0; i < sizeof sibling_names / sizeof *sibling_names; i++) {
    FARPROC f = sibling_export(sibling_names[i], "StandinClaimFree");
    if (f && ((claim_fn)(void (*)(void))f)(p)) return p;
  }
  count(C_BAD_FREES, 1);
  return p;
}
static HRESULT WINAPI spy_qi(IMallocSpy *self, REFIID riid, void **out) {
  if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMallocSpy)) { *out = self; return S_OK; }
  *out = NULL;
  return E_NOINTERFACE;
}
static ULONG WINAPI spy_ref(IMallocSpy *self) { (void)self; return 1; }
static SIZE_T WINAPI spy_pre_alloc(IMallocSpy *self, SIZE_T n) { (void)self; return n; }
static void *WINAPI spy_post_alloc(IMallocSpy *self, void *p) { (void)self; return p; }
static void WINAPI spy_post_free(IMallocSpy *self, BOOL spyed) { (void)self; (void)spyed; }
static SIZE_T WINAPI spy_pre_realloc(IMallocSpy *self, void *p, SIZE_T n, void **real, BOOL spyed) { (void)self; (void)spyed; *real = p; return n; }
static void *WINAPI spy_post_realloc(IMallocSpy *self, void *p, BOOL spyed) { (void)self; (void)spyed; return p; }
static void *WINAPI spy_pre_get_size(IMallocSpy *self, void *p, BOOL spyed) { (void)self; (void)spyed; return p; }
static SIZE_T WINAPI spy_post_get_size(IMallocSpy *self, SIZE_T n, BOOL spyed) { (void)self; (void)spyed; return n; }
static void *WINAPI spy_pre_did_alloc(IMallocSpy *self, void *p, BOOL spyed) { (void)self; (void)spyed; return p; }
static int WINAPI spy_post_did_alloc(IMallocSpy *self, void *p, BOOL spyed, int actual) { (void)self; (void)p; (void)spyed; return actual; }
static void WINAPI spy_heap_min(IMallocSpy *self) { (void)self; }
static IMallocSpyVtbl spy_vtbl = {
  .QueryInterface = spy_qi, .AddRef = spy_ref, .Release = spy_ref, .PreAlloc = spy_pre_alloc, .PostAlloc = spy_post_alloc,
  .PreFree = spy_pre_free, .PostFree = spy_post_free, .PreRealloc = spy_pre_realloc, .PostRealloc = spy_post_realloc,
  .PreGetSize = spy_pre_get_size, .PostGetSize = spy_post_get_size, .PreDidAlloc = spy_pre_did_alloc,
  .PostDidAlloc = spy_post_did_alloc, .PreHeapMinimize = spy_heap_min, .PostHeapMinimize = spy_heap_min,
};
static IMallocSpy spy = { &spy_vtbl };

static void *task_alloc(size_t n) { return CoTaskMemAlloc(n); }
#else
/* No ole32 on Linux: this library is the task allocator, and the adapter binds CoTaskMemFree here. */
EXPORT void *CoTaskMemAlloc(size_t n) { return malloc(n ? n : 1); }

EXPORT void CoTaskMemFree(void *p) {
  if (!p) return; /* CoTaskMemFree(NULL) is a no-op, as in ole32 */
  if (live_remove(p)) {
    count(C_STRINGS_FREED, 1);
    free(p);
  } else {
    count(C_BAD_FREES, 1);
  }
}

static void *task_alloc(size_t n) { return CoTaskMemAlloc(n); }
#endif

static const WCHAR empty_units[1] = { 0 };

/* A returned string: CoTaskMem, UTF-16, NUL-terminated, and recorded as live. */
static PWSTR return_string(const WCHAR *units, size_t len) {
  PWSTR s = task_alloc((len + 1) * sizeof(WCHAR));
  if (!s) return NULL;
  memcpy(s, units, len * sizeof(WCHAR));
  s[len] = 0;
  live_add(s);
  count(C_STRINGS_ALLOCATED, 1);
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON out: a growing byte buffer                                                            */

typedef struct { char *p; size_t len, cap; int oom; } buf_t;

static void put(buf_t *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(b->p, cap);
    if (!grown) { b->oom = 1; return; }
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }
static void putc_(buf_t *b, char c) { put(b, &c, 1); }

static void put_utf8(buf_t *b, uint32_t cp) {
  char u[4];
  if (cp < 0x80) { u[0] = (char)cp; put(b, u, 1); }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); put(b, u, 2); }
  else if (cp < 0x10000) { u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); put(b, u, 3); }
  else { u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F)); u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); put(b, u, 4); }
}

/* A JSON string from NUL-terminated UTF-16: pairs become UTF-8, unpaired surrogates and control
 * characters \u escapes (JSON.parse turns those back into the same code units). */
static void put_json_utf16(buf_t *b, PCWSTR s) {
  char esc[8];
  if (!s) { puts_(b, "null"); return; }
  putc_(b, '"');
  for (size_t i = 0; s[i]; i++) {
    uint32_t u = s[i];
    if (u >= 0xD800 && u <= 0xDBFF && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      put_utf8(b, 0x10000 + ((u - 0xD800) << 10) + (s[i + 1] - 0xDC00));
      i++;
    } else if (u == '"' || u == '\\') {
      putc_(b, '\\');
      putc_(b, (char)u);
    } else if (u < 0x20 || (u >= 0xD800 && u <= 0xDFFF)) {
      snprintf(esc, sizeof esc, "\\u%04x", (unsigned)u);
      puts_(b, esc);
    } else {
      put_utf8(b, u);
    }
  }
  putc_(b, '"');
}

/* Formatted from the fields, as Windows' StringFromGUID2 does (without the braces). */
static void put_json_guid(buf_t *b, const GUID *g) {
  char t[48];
  if (!g) { puts_(b, "null"); return; }
  snprintf(t, sizeof t, "\"%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X\"", (unsigned)g->Data1, g->Data2, g->Data3,
           g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
  puts_(b, t);
}

static void put_json_handle(buf_t *b, const void *h) {
  char t[32];
  snprintf(t, sizeof t, "\"0x%llx\"", (unsigned long long)(uintptr_t)h);
  puts_(b, t);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON in: the answer is one flat object of strings, numbers and nulls                       */

typedef struct { WCHAR *units; size_t len; int present; } wstr_t;
typedef struct { long long hr; int has_hr; wstr_t out, record, handle; } answer_t;

static void ws_push(wstr_t *w, size_t *cap, WCHAR u) {
  if (w->len + 1 >= *cap) {
    size_t n = *cap ? *cap * 2 : 64;
    WCHAR *grown = realloc(w->units, n * sizeof(WCHAR));
    if (!grown) return;
    w->units = grown;
    *cap = n;
  }
  w->units[w->len++] = u;
}

static void ws_push_cp(wstr_t *w, size_t *cap, uint32_t cp) {
  if (cp >= 0x10000) {
    cp -= 0x10000;
    ws_push(w, cap, (WCHAR)(0xD800 + (cp >> 10)));
    ws_push(w, cap, (WCHAR)(0xDC00 + (cp & 0x3FF)));
  } else {
    ws_push(w, cap, (WCHAR)cp);
  }
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return p;
}

/* Decodes one UTF-8 sequence at p into *cp; returns its length (1 with U+FFFD when malformed). */
static int utf8_decode(const unsigned char *p, uint32_t *cp) {
  if (p[0] < 0x80) { *cp = p[0]; return 1; }
  int n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (!n) { *cp = 0xFFFD; return 1; }
  uint32_t v = p[0] & (0x7F >> n);
  for (int i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
    v = v << 6 | (p[i] & 0x3F);
  }
  *cp = v;
  return n;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Parses a JSON string at p (after skip_ws, p points at '"') into UTF-16; returns the position
 * after it, or NULL. \u escapes are taken as code units, so surrogate pairs pass through. */
static const char *parse_string(const char *p, wstr_t *w) {
  size_t cap = 0;
  if (*p++ != '"') return NULL;
  w->len = 0;
  while (*p && *p != '"') {
    if (*p == '\\') {
      char c = p[1];
      p += 2;
      switch (c) {
        case 'n': ws_push(w, &cap, '\n'); break;
        case 't': ws_push(w, &cap, '\t'); break;
        case 'r': ws_push(w, &cap, '\r'); break;
        case 'b': ws_push(w, &cap, '\b'); break;
        case 'f': ws_push(w, &cap, '\f'); break;
        case 'u': {
          int v = 0;
          for (int i = 0; i < 4; i++) {
            int h = hexval(p[i]);
            if (h < 0) return NULL;
            v = v << 4 | h;
          }
          p += 4;
          ws_push(w, &cap, (WCHAR)v);
          break;
        }
        case 0: return NULL;
        default: ws_push(w, &cap, (WCHAR)(unsigned char)c); break; /* \" \\ \/ */
      }
    } else {
      uint32_t cp;
      p += utf8_decode((const unsigned char *)p, &cp);
      ws_push_cp(w, &cap, cp);
    }
  }
  if (*p != '"') return NULL;
  w->present = 1;
  return p + 1;
}

static int parse_answer(const char *p, answer_t *a) {
  memset(a, 0, sizeof *a);
  p = skip_ws(p);
  if (*p++ != '{') return 0;
  for (;;) {
    wstr_t key = {0};
    p = skip_ws(p);
    if (*p == '}') break;
    p = parse_string(p, &key);
    if (!p) { free(key.units); return 0; }
    char name[16] = {0};
    for (size_t i = 0; i < key.len && i < sizeof name - 1; i++) name[i] = (char)key.units[i];
    free(key.units);
    p = skip_ws(p);
    if (*p++ != ':') return 0;
    p = skip_ws(p);
    wstr_t *slot = !strcmp(name, "out") ? &a->out : !strcmp(name, "record") ? &a->record : !strcmp(name, "handle") ? &a->handle : NULL;
    if (*p == '"') {
      wstr_t junk = {0};
      p = parse_string(p, slot ? slot : &junk);
      free(junk.units);
      if (!p) return 0;
    } else if (!strncmp(p, "null", 4)) {
      p += 4;
    } else {
      char *end;
      long long v = strtoll(p, &end, 10);
      if (end == p) return 0;
      if (!strcmp(name, "hr")) { a->hr = v; a->has_hr = 1; }
      p = end;
    }
    p = skip_ws(p);
    if (*p == ',') { p++; continue; }
    if (*p == '}') break;
    return 0;
  }
  return a->has_hr;
}

static void free_answer(answer_t *a) {
  free(a->out.units);
  free(a->record.units);
  free(a->handle.units);
}

/* ------------------------------------------------------------------------------------------ */
/* Transport                                                                                  */

static int read_addr(struct sockaddr_in *sa) {
  char addr[64] = {0};
  unsigned a, b, c, d, port;
#ifdef _WIN32
  if (!GetEnvironmentVariableA("HCN_STANDIN_ADDR", addr, sizeof addr)) return 0;
#else
  const char *env = getenv("HCN_STANDIN_ADDR");
  if (!env) return 0;
  strncpy(addr, env, sizeof addr - 1);
#endif
  if (sscanf(addr, "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5 || a > 255 || b > 255 || c > 255 || d > 255 || port > 65535) return 0;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  sa->sin_addr.s_addr = htonl(a << 24 | b << 16 | c << 8 | d);
  return 1;
}

static sock_t connect_server(void) {
  struct sockaddr_in sa;
#ifdef _WIN32
  static volatile LONG started;
  if (!InterlockedCompareExchange(&started, 1, 0)) {
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
  }
#endif
  if (!read_addr(&sa)) {
    fprintf(stderr, "hcnstandin: HCN_STANDIN_ADDR is not set to <ipv4>:<port>\n");
    return BAD_SOCK;
  }
  sock_t s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == BAD_SOCK) return BAD_SOCK;
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
    sock_close(s);
    return BAD_SOCK;
  }
  return s;
}

static int send_all(sock_t s, const char *p, size_t n) {
  while (n) {
    int k = send(s, p, (int)(n > 65536 ? 65536 : n), 0);
    if (k <= 0) return 0;
    p += k;
    n -= (size_t)k;
  }
  return 1;
}

/* Reads up to the first '\n'; the caller frees the result. */
static char *recv_line(sock_t s) {
  buf_t b = {0};
  char chunk[4096];
  for (;;) {
    int k = recv(s, chunk, sizeof chunk, 0);
    if (k <= 0) { free(b.p); return NULL; }
    char *nl = memchr(chunk, '\n', (size_t)k);
    put(&b, chunk, nl ? (size_t)(nl - chunk) : (size_t)k);
    if (b.oom) { free(b.p); return NULL; }
    if (nl) return b.p;
  }
}

/* Sends one request line and reads the answer line. */
static char *exchange(buf_t *req) {
  sock_t s = connect_server();
  if (s == BAD_SOCK) return NULL;
  putc_(req, '\n');
  char *line = !req->oom && send_all(s, req->p, req->len) ? recv_line(s) : NULL;
  sock_close(s);
  return line;
}

/* ------------------------------------------------------------------------------------------ */
/* One forwarded call                                                                         */

typedef struct {
  const char *fn;
  const GUID *id;                /* REFGUID argument, or NULL when the function has none */
  int has_handle;
  const void *handle;            /* HCN_* argument */
  const char *text_names[3];     /* names of the PCWSTR arguments, in order */
  PCWSTR texts[3];
  PWSTR *out;                    /* Networks/Properties/Response out-parameter, if any */
  void **handle_out;             /* PHCN_* out-parameter, if any */
  PWSTR *record;                 /* ErrorRecord out-parameter (may be NULL: it is optional) */
  int closes;                    /* an HcnClose* call */
} call_t;

static void build_request(buf_t *b, const call_t *c) {
  puts_(b, "{\"fn\":\"");
  puts_(b, c->fn);
  putc_(b, '"');
  if (c->id) { puts_(b, ",\"id\":"); put_json_guid(b, c->id); }
  if (c->has_handle) { puts_(b, ",\"handle\":"); put_json_handle(b, c->handle); }
  for (int i = 0; i < 3 && c->text_names[i]; i++) {
    puts_(b, ",\"");
    puts_(b, c->text_names[i]);
    puts_(b, "\":");
    put_json_utf16(b, c->texts[i]);
  }
  puts_(b, c->record ? ",\"wantsRecord\":true}" : ",\"wantsRecord\":false}");
}

static void *parse_handle(const wstr_t *w) {
  char t[32] = {0};
  for (size_t i = 0; i < w->len && i < sizeof t - 1; i++) t[i] = (char)w->units[i];
  return (void *)(uintptr_t)strtoull(t, NULL, 0);
}

/* Turns the answer into the out-parameters: strings as live CoTaskMem UTF-16, the handle as a
 * pointer-sized value. */
static HRESULT deliver(const call_t *c, const answer_t *a) {
  HRESULT hr = (HRESULT)(int32_t)a->hr;
  if (c->out && a->out.present) *c->out = return_string(a->out.units ? a->out.units : empty_units, a->out.len);
  if (c->record && a->record.present) *c->record = return_string(a->record.units ? a->record.units : empty_units, a->record.len);
  if (c->handle_out && a->handle.present) {
    *c->handle_out = parse_handle(&a->handle);
    if (*c->handle_out) count(C_HANDLES_OPENED, 1);
  }
  if (c->closes && hr >= 0) count(C_HANDLES_CLOSED, 1);
  return hr;
}

static HRESULT forward(const call_t *c) {
  /* Out-parameters are NULL unless the service fills them, also on failure. */
  if (c->out) *c->out = NULL;
  if (c->record) *c->record = NULL;
  if (c->handle_out) *c->handle_out = NULL;
  count(C_CALLS, 1);

  buf_t req = {0};
  build_request(&req, c);
  char *line = exchange(&req);
  free(req.p);
  if (!line) return E_STANDIN_TRANSPORT;

  answer_t a;
  HRESULT hr;
  if (parse_answer(line, &a)) {
    hr = deliver(c, &a);
  } else {
    fprintf(stderr, "hcnstandin: %s: unreadable answer: %.200s\n", c->fn, line);
    hr = E_STANDIN_PROTOCOL;
  }
  free_answer(&a);
  free(line);
  return hr;
}

/* ------------------------------------------------------------------------------------------ */
/* The exports, with the exact signatures of ComputeNetwork.h                                 */

#define ENUMERATE(Plural)                                                                     \
  EXPORT HRESULT WINAPI HcnEnumerate##Plural(PCWSTR Query, PWSTR *Result, PWSTR *ErrorRecord) { \
    call_t c = { .fn = "HcnEnumerate" #Plural, .text_names = { "query" }, .texts = { Query },    \
                 .out = Result, .record = ErrorRecord };                                       \
    return forward(&c);                                                                       \
  }

#define OBJECT(Kind, HANDLE, PHANDLE)                                                                      \
  EXPORT HRESULT WINAPI HcnOpen##Kind(REFGUID Id, PHANDLE Handle, PWSTR *ErrorRecord) {                     \
    call_t c = { .fn = "HcnOpen" #Kind, .id = Id, .handle_out = (void **)Handle, .record = ErrorRecord };   \
    return forward(&c);                                                                                    \
  }                                                                                                        \
  EXPORT HRESULT WINAPI HcnModify##Kind(HANDLE Handle, PCWSTR Settings, PWSTR *ErrorRecord) {               \
    call_t c = { .fn = "HcnModify" #Kind, .has_handle = 1, .handle = Handle, .text_names = { "settings" },  \
                 .texts = { Settings }, .record = ErrorRecord };                                           \
    return forward(&c);                                                                                    \
  }                                                                                                        \
  EXPORT HRESULT WINAPI HcnQuery##Kind##Properties(HANDLE Handle, PCWSTR Query, PWSTR *Properties,         \
                                                   PWSTR *ErrorRecord) {                                   \
    call_t c = { .fn = "HcnQuery" #Kind "Properties", .has_handle = 1, .handle = Handle,                   \
                 .text_names = { "query" }, .texts = { Query }, .out = Properties, .record = ErrorRecord }; \
    return forward(&c);                                                                                    \
  }                                                                                                        \
  EXPORT HRESULT WINAPI HcnDelete##Kind(REFGUID Id, PWSTR *ErrorRecord) {                                   \
    call_t c = { .fn = "HcnDelete" #Kind, .id = Id, .record = ErrorRecord };                               \
    return forward(&c);                                                                                    \
  }                                                                                                        \
  EXPORT HRESULT WINAPI HcnClose##Kind(HANDLE Handle) {                                                     \
    call_t c = { .fn = "HcnClose" #Kind, .has_handle = 1, .handle = Handle, .closes = 1 };                 \
    return forward(&c);                                                                                    \
  }

ENUMERATE(Networks)
ENUMERATE(Endpoints)
ENUMERATE(Namespaces)
OBJECT(Network, HCN_NETWORK, PHCN_NETWORK)
OBJECT(Endpoint, HCN_ENDPOINT, PHCN_ENDPOINT)
OBJECT(Namespace, HCN_NAMESPACE, PHCN_NAMESPACE)

EXPORT HRESULT WINAPI HcnCreateNetwork(REFGUID Id, PCWSTR Settings, PHCN_NETWORK Network, PWSTR *ErrorRecord) {
  call_t c = { .fn = "HcnCreateNetwork", .id = Id, .text_names = { "settings" }, .texts = { Settings },
               .handle_out = (void **)Network, .record = ErrorRecord };
  return forward(&c);
}

/* The network handle comes first. */
EXPORT HRESULT WINAPI HcnCreateEndpoint(HCN_NETWORK Network, REFGUID Id, PCWSTR Settings, PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord) {
  call_t c = { .fn = "HcnCreateEndpoint", .id = Id, .has_handle = 1, .handle = Network, .text_names = { "settings" },
               .texts = { Settings }, .handle_out = (void **)Endpoint, .record = ErrorRecord };
  return forward(&c);
}

EXPORT HRESULT WINAPI HcnCreateNamespace(REFGUID Id, PCWSTR Settings, PHCN_NAMESPACE Namespace, PWSTR *ErrorRecord) {
  call_t c = { .fn = "HcnCreateNamespace", .id = Id, .text_names = { "settings" }, .texts = { Settings },
               .handle_out = (void **)Namespace, .record = ErrorRecord };
  return forward(&c);
}

/* vmcompute.dll's v1 entry point (the same library is installed under both names). */
EXPORT HRESULT WINAPI HNSCall(PCWSTR Method, PCWSTR Path, PCWSTR Request, PWSTR *Response) {
  call_t c = { .fn = "HNSCall", .text_names = { "method", "path", "request" }, .texts = { Method, Path, Request },
               .out = Response };
  return forward(&c);
}

/* ------------------------------------------------------------------------------------------ */
/* Windows: spy on frees from load, report the counters at unload                             */

#ifdef _WIN32
/* Fire-and-forget: a process exiting must not wait for a server that may be gone. */
static void report_counters(HINSTANCE self) {
  char module[MAX_PATH] = {0}, tail[256];
  GetModuleFileNameA(self, module, sizeof module);
  for (char *p = module; *p; p++) if (*p == '\\') *p = '/';
  buf_t b = {0};
  puts_(&b, "{\"fn\":\"StandinCounters\",\"module\":\"");
  puts_(&b, module);
  snprintf(tail, sizeof tail,
           "\",\"counters\":{\"stringsAllocated\":%lld,\"stringsFreed\":%lld,\"badFrees\":%lld,\"handlesOpened\":%lld,"
           "\"handlesClosed\":%lld,\"calls\":%lld,\"freeCounting\":%lld}}\n",
           (long long)counters[C_STRINGS_ALLOCATED], (long long)counters[C_STRINGS_FREED], (long long)counters[C_BAD_FREES],
           (long long)counters[C_HANDLES_OPENED], (long long)counters[C_HANDLES_CLOSED], (long long)counters[C_CALLS],
           (long long)counters[C_FREE_COUNTING]);
  puts_(&b, tail);
  sock_t s = counters[C_CALLS] ? connect_server() : BAD_SOCK;
  if (s != BAD_SOCK) {
    send_all(s, b.p, b.len);
    sock_close(s);
  }
  free(b.p);
}

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved) {
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) {
    /* The spy stays registered for the life of the process, so the code it points at must too:
     * pinned, this library is never unloaded before the process ends. */
    HMODULE pinned;
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)(void *)&spy, &pinned);
    self_module = self;
    HRESULT hr = CoRegisterMallocSpy(&spy);
    if (hr == S_OK) {
      spy_registered = 1;
      counters[C_FREE_COUNTING] = 1;
    } else if (hr == CO_E_OBJISREG) {
      /* Another copy of this file got there first: its spy hands our strings back to us. */
      for (size_t i = 0; i < sizeof sibling_names / sizeof *sibling_names; i++) {
        FARPROC f = sibling_export(sibling_names[i], "StandinSpying");
        if (f && ((spying_fn)(void (*)(void))f)()) counters[C_FREE_COUNTING] = 1;
      }
    }
  } else if (reason == DLL_PROCESS_DETACH) {
    report_counters(self);
  }
  return TRUE;
}
#else
__attribute__((constructor)) static void standin_init(void) { counters[C_FREE_COUNTING] = 1; }
#endif

/* Reads another thread's Python stack in one C call, with the GIL held, without creating frame objects.

Why (docs/how-it-works.md, "Reading the stack"): walking ``frame.f_back`` from a sampler thread makes
CPython create a frame object for every frame it passes. That allocation can start the cyclic GC in the
sampler thread; the GC runs Python code (gc.callbacks, finalizers), the GIL passes to the profiled
thread, which returns from the very frames being walked, and the walk resumes on freed memory
(SIGSEGV, CPython 3.11). Here the whole walk is one C function: the profiled thread cannot run while
it reads (nothing in it releases the GIL or runs Python code), nothing is allocated until the stack has
been copied and its code objects referenced. Frame objects are made (with automatic collection paused
inside this one call) only to mark each call seen in its ``f_trace``, which tells a new call from the
same one; none is kept.

read(thread_ident) -> (codes, lines, same, leaf_lasti, depth) | None
    codes, lines: root -> leaf (a stack deeper than KEEP frames keeps its KEEP/2 outermost and KEEP/2
    innermost frames); same: how many outermost frames are the very same interpreter frames as in the
    previous read (their frame objects carry the mark set at an earlier read; a new call, even
    at a reused address, has no mark); leaf_lasti: byte offset of the innermost frame's last
    instruction; depth: the full depth before trimming. None when no such thread (or it runs no Python).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
#  define ADVISOR_INTERP_FRAMES 1
#  ifndef Py_BUILD_CORE
#    define Py_BUILD_CORE 1
#  endif
#  include "internal/pycore_frame.h"
#elif PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030B0000
#  define ADVISOR_FRAME_OBJECTS 1
#  include "frameobject.h"
#else
#  error "advisor._stackread supports CPython 3.10 to 3.13; other versions use the pure-Python reader"
#endif

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#  define ADVISOR_PROBE 1
#  include <signal.h>
#  include <pthread.h>
#  include <link.h>
#  include <ucontext.h>
#  include <time.h>
#  include <fcntl.h>
#  include <errno.h>
#  include <unistd.h>
#  include <string.h>
#  include <poll.h>
#  include <sys/eventfd.h>
#endif

#define KEEP 1024
#define WALK_LIMIT 1000000

typedef struct {
    void *addr;       /* the interpreter frame (3.11+) or frame object (3.10) */
    void *obj;        /* its frame object, once made */
    int seen;         /* carried our mark at this read: the same call as at an earlier read */
    PyObject *code;   /* borrowed while walking, then referenced */
    int lasti;        /* bytes */
    int line;
} entry;

static entry *walk_buf = NULL;
static Py_ssize_t walk_cap = 0;
static void *prev_obj[KEEP];      /* frame objects of the previous read: identity only, never dereferenced */
static Py_ssize_t prev_n = 0;

/* The mark put in ``f_trace`` of the frame objects of calls seen (a Python function returning None, so
   a debugger that starts tracing later just drops it). */
static PyObject *mark = NULL;

/* The thread state of ``ident`` that runs Python code. A thread being started has a state that
   carries its parent's ident until it runs (CPython preallocates it in the parent), so the match with
   a frame wins over one without. */
static PyThreadState *
find_thread(unsigned long ident)
{
    PyInterpreterState *interp = PyThreadState_GetInterpreter(PyThreadState_Get());
    PyThreadState *found = NULL;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL; t = PyThreadState_Next(t)) {
        if (t->thread_id != ident) {
            continue;
        }
#if PY_VERSION_HEX >= 0x030D0000
        int has_frame = t->current_frame != NULL;
#elif PY_VERSION_HEX >= 0x030B0000
        int has_frame = t->cframe != NULL && t->cframe->current_frame != NULL;
#else
        int has_frame = t->frame != NULL;
#endif
        if (has_frame) {
            return t;
        }
        if (found == NULL) {
            found = t;
        }
    }
    return found;
}

static int
grow(Py_ssize_t need)
{
    if (need <= walk_cap) {
        return 0;
    }
    Py_ssize_t cap = walk_cap ? walk_cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    entry *buf = (entry *)PyMem_RawRealloc(walk_buf, (size_t)cap * sizeof(entry));
    if (buf == NULL) {
        return -1;
    }
    walk_buf = buf;
    walk_cap = cap;
    return 0;
}

/* Copies the stack leaf -> root into walk_buf: each frame's frame object (made where missing, with
   automatic collection paused by the caller), code object and last instruction. The frame objects are
   owned by their frames, which cannot end during this call: the pointers stay valid until it returns.
   Returns the depth, or -1 when out of memory. */
static Py_ssize_t
walk(PyThreadState *t)
{
    Py_ssize_t n = 0;
    PyFrameObject *f = PyThreadState_GetFrame(t);  /* new reference, or NULL */
    while (f != NULL && n < WALK_LIMIT) {
        if (n >= walk_cap && grow(n + 1) < 0) {
            Py_DECREF(f);
            return -1;
        }
        PyCodeObject *code = PyFrame_GetCode(f);  /* new reference; the frame keeps its own */
        walk_buf[n].addr = (void *)f;
        walk_buf[n].code = (PyObject *)code;
#if PY_VERSION_HEX >= 0x030B0000
        walk_buf[n].lasti = PyFrame_GetLasti(f);
#else
        walk_buf[n].lasti = f->f_lasti * 2;
#endif
        walk_buf[n].line = PyFrame_GetLineNumber(f);
        Py_DECREF(code);
        n++;
        PyFrameObject *back = PyFrame_GetBack(f);  /* new reference, made where missing */
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    if (PyErr_Occurred()) {
        PyErr_Clear();
    }
    return n;
}

static PyObject *
stackread_read(PyObject *self, PyObject *arg)
{
    unsigned long ident = PyLong_AsUnsignedLong(arg);
    if (ident == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    PyThreadState *t = find_thread(ident);
    if (t == NULL) {
        Py_RETURN_NONE;
    }
    /* Automatic collection is paused for this call only (the flag is restored before it returns, and
       no Python code runs in between, so nobody can see it): frame objects made below then never start
       a collection, which could run Python code and let the profiled thread move its stack. */
    int gc_was_on = PyGC_Disable();
    Py_ssize_t depth = walk(t);
    if (depth <= 0) {
        if (gc_was_on) {
            PyGC_Enable();
        }
        if (depth < 0) {
            return PyErr_NoMemory();
        }
        Py_RETURN_NONE;
    }
    /* Keep root -> leaf: the outermost KEEP/2 and innermost KEEP/2 frames of a deeper stack. */
    Py_ssize_t kept = depth <= KEEP ? depth : KEEP;
    int lines[KEEP];
    entry chosen[KEEP];
    for (Py_ssize_t i = 0; i < kept; i++) {
        Py_ssize_t src;
        if (depth <= KEEP || i < KEEP / 2) {
            src = depth - 1 - i;            /* root side */
        }
        else {
            src = (KEEP - 1) - i;           /* leaf side: the innermost KEEP/2 */
        }
        chosen[i] = walk_buf[src];
        chosen[i].obj = NULL;
        chosen[i].seen = 0;
        lines[i] = chosen[i].line;
        Py_INCREF(chosen[i].code);
        /* Call identity: a frame object lives as long as its call (the frame owns it); a new call
           has a fresh one without our mark, even at a reused address. */
        if (mark == NULL) {
            continue;
        }
        PyFrameObject *fo = (PyFrameObject *)chosen[i].addr;
        chosen[i].obj = (void *)fo;
        if (fo->f_trace == mark) {
            chosen[i].seen = 1;
        }
        else if (fo->f_trace == NULL) {
            Py_INCREF(mark);
            fo->f_trace = mark;
        }
    }
    if (gc_was_on) {
        PyGC_Enable();
    }
    /* From here on allocation (and so the GC, and other threads) may run: the codes are referenced and
       only our copies are used. */
    Py_ssize_t same = 0;
    while (same < kept && same < prev_n && chosen[same].seen && chosen[same].obj == prev_obj[same]) {
        same++;
    }
    for (Py_ssize_t i = 0; i < kept; i++) {
        prev_obj[i] = chosen[i].obj;
    }
    prev_n = kept;
    int leaf_lasti = chosen[kept - 1].lasti;
    PyObject *codes = PyTuple_New(kept);
    PyObject *lns = codes ? PyTuple_New(kept) : NULL;
    if (lns == NULL) {
        for (Py_ssize_t i = 0; i < kept; i++) {
            Py_DECREF(chosen[i].code);
        }
        Py_XDECREF(codes);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < kept; i++) {
        PyTuple_SET_ITEM(codes, i, chosen[i].code);  /* steals the reference */
    }
    for (Py_ssize_t i = 0; i < kept; i++) {
        PyObject *ln = PyLong_FromLong(lines[i] < 0 ? 0 : lines[i]);
        if (ln == NULL) {
            Py_DECREF(codes);
            Py_DECREF(lns);
            return NULL;
        }
        PyTuple_SET_ITEM(lns, i, ln);
    }
    return Py_BuildValue("(NNnin)", codes, lns, same, leaf_lasti, depth);
}

static PyObject *
stackread_reset(PyObject *self, PyObject *unused)
{
    prev_n = 0;
    Py_RETURN_NONE;
}


/* ---- the native probe -------------------------------------------------------------------------------

What is the profiled thread executing right now: bytecode, or a C function (a builtin such as json.loads
or str.join, an extension such as NumPy) that holds the GIL? Once the sampler has the GIL the thread has
already moved to a bytecode boundary, so the question is asked before: the sampler thread, without the
GIL, sends a thread-directed real-time signal to the profiled thread only while the kernel says it is
running ('R'), and a handler that only reads memory records, on that thread, its instruction pointer
(inside libpython or libc, or in an extension module's code) and the opcode its innermost Python frame is
executing (a call instruction, or another one). The sampler waits up to ~200 µs for the answer.

The signal is one nobody else uses (checked at install: a handler already set means no probe),
installed with SA_RESTART; a thread in a blocking system call is never signalled. */
#ifdef ADVISOR_PROBE
static int probe_signo = 0;
static PyThreadState *probe_tstate = NULL;
static pthread_t probe_thread;
static int probe_stat_fd = -1;
static unsigned char call_ops[256];
static uintptr_t text_lo[2], text_hi[2];  /* libpython (or the python executable), libc */
static volatile sig_atomic_t probe_seq = 0;
static volatile sig_atomic_t probe_kind = 0;
static int probe_efd = -1;  /* the handler writes here; the sampler waits on it (no spinning) */

enum { KIND_UNKNOWN = 0, KIND_BYTECODE = 1, KIND_C_CALL = 2, KIND_EXTENSION = 3, KIND_BLOCKED = 4 };

static int
in_text(uintptr_t ip, int which)
{
    return ip >= text_lo[which] && ip < text_hi[which];
}

static void
probe_handler(int sig, siginfo_t *info, void *ucv)
{
    (void)sig;
    (void)info;
    int kind = KIND_BYTECODE;
    uintptr_t ip = 0;
    ucontext_t *uc = (ucontext_t *)ucv;
#  if defined(__x86_64__)
    ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#  else
    ip = (uintptr_t)uc->uc_mcontext.pc;
#  endif
    if (ip != 0 && !in_text(ip, 0) && !in_text(ip, 1)) {
        kind = KIND_EXTENSION;
    }
    else {
        PyThreadState *t = probe_tstate;
        int op = -1;
        if (t != NULL) {
#  if PY_VERSION_HEX >= 0x030D0000
            _PyInterpreterFrame *f = t->current_frame;
            if (f != NULL && f->instr_ptr != NULL) {
                op = ((unsigned char *)f->instr_ptr)[0];
            }
#  elif PY_VERSION_HEX >= 0x030B0000
            _PyInterpreterFrame *f = t->cframe ? t->cframe->current_frame : NULL;
            if (f != NULL && f->prev_instr != NULL) {
                op = ((unsigned char *)f->prev_instr)[0];
            }
#  else
            PyFrameObject *f = t->frame;
            if (f != NULL && f->f_lasti >= 0) {
                op = ((unsigned char *)PyBytes_AS_STRING(f->f_code->co_code))[f->f_lasti * 2];
            }
#  endif
        }
        if (op >= 0 && call_ops[op]) {
            kind = KIND_C_CALL;
        }
        else if (in_text(ip, 1)) {
            /* libc under a non-call instruction: the allocator or memcpy of the bytecode, or an
               extension's own spin/yield or copy (BLAS waiting for its workers): no conclusion */
            kind = KIND_UNKNOWN;
        }
    }
    probe_kind = kind;
    probe_seq = probe_seq + 1;
    if (probe_efd >= 0) {
        int saved = errno;
        uint64_t one = 1;
        ssize_t w = write(probe_efd, &one, sizeof(one));
        (void)w;
        errno = saved;
    }
}

static int
find_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t *want = (uintptr_t *)data;  /* [address, which] */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) {
            continue;
        }
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (want[0] >= lo && want[0] < hi) {
            text_lo[want[1]] = lo;
            text_hi[want[1]] = hi;
            return 1;
        }
    }
    return 0;
}

/* probe_install(thread_ident, native_id, call_opcodes: bytes) -> bool */
static PyObject *
stackread_probe_install(PyObject *self, PyObject *args)
{
    unsigned long ident;
    long native_id;
    Py_buffer ops;
    if (!PyArg_ParseTuple(args, "kly*", &ident, &native_id, &ops)) {
        return NULL;
    }
    memset(call_ops, 0, sizeof(call_ops));
    for (Py_ssize_t i = 0; i < ops.len; i++) {
        call_ops[((unsigned char *)ops.buf)[i]] = 1;
    }
    PyBuffer_Release(&ops);
    if (probe_signo == 0) {
        for (int sig = SIGRTMAX - 2; sig > SIGRTMIN + 3; sig--) {
            struct sigaction old;
            if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO)) {
                struct sigaction sa;
                memset(&sa, 0, sizeof(sa));
                sa.sa_sigaction = probe_handler;
                sa.sa_flags = SA_SIGINFO | SA_RESTART;
                sigemptyset(&sa.sa_mask);
                if (sigaction(sig, &sa, NULL) == 0) {
                    probe_signo = sig;
                }
                break;
            }
        }
    }
    if (probe_signo == 0) {
        Py_RETURN_FALSE;
    }
    if (probe_efd < 0) {
        probe_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    uintptr_t want[2] = {(uintptr_t)&PyEval_EvalCode, 0};
    text_lo[0] = text_hi[0] = text_lo[1] = text_hi[1] = 0;
    dl_iterate_phdr(find_text, want);
    want[0] = (uintptr_t)&memcpy;
    want[1] = 1;
    dl_iterate_phdr(find_text, want);
    probe_tstate = find_thread(ident);
    probe_thread = (pthread_t)ident;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", native_id);
    if (probe_stat_fd >= 0) {
        close(probe_stat_fd);
    }
    probe_stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (probe_tstate == NULL || probe_stat_fd < 0 || probe_efd < 0 || text_hi[0] == 0) {
        probe_tstate = NULL;
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static int
thread_running(void)
{
    char buf[256];
    ssize_t n = pread(probe_stat_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return 0;
    }
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'R';
}

/* sleep_probe(seconds, wait) -> kind: sleeps without the GIL, then asks the running thread what it executes
   (0 unknown, 1 bytecode, 2 a C call made by a call instruction, 3 extension code, 4 not on a CPU:
   blocked in a system call, on a lock or waiting for the GIL). */
static PyObject *
stackread_sleep_probe(PyObject *self, PyObject *arg)
{
    double seconds, wait_s;
    if (!PyArg_ParseTuple(arg, "dd", &seconds, &wait_s)) {
        return NULL;
    }
    int kind = KIND_UNKNOWN;
    Py_BEGIN_ALLOW_THREADS
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    int running = probe_tstate != NULL && probe_signo != 0 ? thread_running() : -1;
    if (running == 0) {
        kind = KIND_BLOCKED;
    }
    if (running == 1) {
        uint64_t drained;
        while (read(probe_efd, &drained, sizeof(drained)) > 0) {  /* a late answer to an earlier ask */
        }
        if (pthread_kill(probe_thread, probe_signo) == 0) {
            /* A thread that is runnable but waiting for a core answers when it gets one: what it
               executes then is what it was executing when it was preempted. */
            struct pollfd pfd = {probe_efd, POLLIN, 0};
            int ms = (int)(wait_s * 1000.0 + 0.5);
            if (poll(&pfd, 1, ms < 1 ? 1 : ms) == 1 && read(probe_efd, &drained, sizeof(drained)) > 0) {
                kind = probe_kind;
            }
        }
    }
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(kind);
}

static PyObject *
stackread_probe_remove(PyObject *self, PyObject *unused)
{
    probe_tstate = NULL;  /* the handler stays installed (a late signal finds nothing to read) */
    if (probe_stat_fd >= 0) {
        close(probe_stat_fd);
        probe_stat_fd = -1;
    }
    Py_RETURN_NONE;
}
#endif

static PyObject *
stackread_set_mark(PyObject *self, PyObject *fn)
{
    Py_INCREF(fn);
    Py_XSETREF(mark, fn);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"set_mark", stackread_set_mark, METH_O, "set_mark(fn): the f_trace mark of calls seen"},
#ifdef ADVISOR_PROBE
    {"probe_install", stackread_probe_install, METH_VARARGS, "probe_install(ident, native_id, call_ops) -> bool"},
    {"sleep_probe", stackread_sleep_probe, METH_VARARGS, "sleep_probe(seconds) -> 0 unknown, 1 bytecode, 2 C call, 3 extension"},
    {"probe_remove", stackread_probe_remove, METH_NOARGS, "stop probing"},
#endif
    {"read", stackread_read, METH_O, "read(thread_ident) -> (codes, lines, same, leaf_lasti, depth) | None"},
    {"reset", stackread_reset, METH_NOARGS, "forget the previous read (a new sampling session)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_stackread",
    "Reads a thread's Python stack in one C call, without creating frame objects.", -1, methods,
};

PyMODINIT_FUNC
PyInit__stackread(void)
{
    return PyModule_Create(&module);
}

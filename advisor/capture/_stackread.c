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
#  ifndef _GNU_SOURCE
#    define _GNU_SOURCE
#  endif
#  include <sys/uio.h>
#  include <sys/prctl.h>
#  include <pthread.h>
#  include <time.h>
#  include <fcntl.h>
#  include <unistd.h>
#  include <string.h>
#  include <stdio.h>
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
or str.join, an extension such as NumPy, a type slot behind ``a + b`` on arrays) that holds the GIL?
Once the sampler has the GIL the thread has already moved to a bytecode boundary, so the question is
asked before, at the wake-up, without the GIL and without touching the thread: the sampler reads the
thread's current interpreter frame and the opcode it executes the way an external sampler (py-spy) reads
another process, with process_vm_readv on its own process. A read of memory that changed or was freed
meanwhile fails with EFAULT or returns a stale value (one misclassified sample), never a crash: nothing
is dereferenced directly, no signal is sent, nothing the thread does is interrupted.

A thread the kernel says is not running ('S', 'D') is not read: it is blocked (a system call, a lock, the
GIL). */
#ifdef ADVISOR_PROBE
static PyThreadState *probe_tstate = NULL;
static int probe_stat_fd = -1;
static pid_t probe_pid = 0;
static clockid_t probe_clock;  /* the profiled thread's CPU clock */
static unsigned char call_ops[256];
static unsigned char sure_opargs[256];

enum { KIND_UNKNOWN = 0, KIND_BYTECODE = 1, KIND_C_CALL = 2, KIND_BLOCKED = 4, KIND_PREEMPTED = 5, KIND_MOVED = 6, KIND_PREEMPTED_OP = 7,
       KIND_SAME_LONG = 9, KIND_MOVED_LONG = 10 };

/* Copies n bytes at addr of this process into out; 0 where the memory cannot be read (never faults). */
static int
safe_read(const void *addr, void *out, size_t n)
{
    if (addr == NULL) {
        return 0;
    }
    struct iovec local = {out, n};
    struct iovec remote = {(void *)addr, n};
    return process_vm_readv(probe_pid, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

static int
thread_running(void)
{
    char buf[256];
    ssize_t n = pread(probe_stat_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ') {
        return -1;
    }
    return close_paren[2] == 'R';
}

/* Where the thread's innermost Python frame is: the frame's address and the address of the instruction it
   executes (both 0 where they cannot be read). */
static void
current_instr(PyThreadState *t, void **frame, void **instr)
{
    *frame = *instr = NULL;
#  if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *f = NULL;
    _Py_CODEUNIT *ip = NULL;
    if (safe_read(&t->current_frame, &f, sizeof(f)) && safe_read(&f->instr_ptr, &ip, sizeof(ip))) {
        *frame = f;
        *instr = ip;
    }
#  elif PY_VERSION_HEX >= 0x030B0000
    _PyCFrame *cf = NULL;
    _PyInterpreterFrame *f = NULL;
    _Py_CODEUNIT *ip = NULL;
    if (safe_read(&t->cframe, &cf, sizeof(cf)) && safe_read(&cf->current_frame, &f, sizeof(f))
        && safe_read(&f->prev_instr, &ip, sizeof(ip))) {
        *frame = f;
        *instr = ip;
    }
#  else
    PyFrameObject *f = NULL;
    PyCodeObject *co = NULL;
    PyObject *bytes = NULL;
    int lasti = -1;
    if (safe_read(&t->frame, &f, sizeof(f)) && safe_read(&f->f_lasti, &lasti, sizeof(lasti)) && lasti >= 0
        && lasti < (1 << 28) && safe_read(&f->f_code, &co, sizeof(co))
        && safe_read(&co->co_code, &bytes, sizeof(bytes))) {
        *frame = f;
        *instr = ((PyBytesObject *)bytes)->ob_sval + (size_t)lasti * 2;  /* address only: read safely */
    }
#  endif
}

#  if PY_VERSION_HEX >= 0x030B0000
/* The address of the field that holds an interpreter frame's current instruction. */
static const void *
instr_field(void *frame)
{
#    if PY_VERSION_HEX >= 0x030D0000
    return &((_PyInterpreterFrame *)frame)->instr_ptr;
#    else
    return &((_PyInterpreterFrame *)frame)->prev_instr;
#    endif
}
#  endif

/* The code object of the frame current_instr found (its address: an identity for the caller, which
   compares it with code objects it holds; never dereferenced here beyond the safe read); NULL if unread. */
static void *
frame_code(void *frame)
{
    void *code = NULL;
    if (frame == NULL) {
        return NULL;
    }
#  if PY_VERSION_HEX >= 0x030D0000
    safe_read(&((_PyInterpreterFrame *)frame)->f_executable, &code, sizeof(code));
#  elif PY_VERSION_HEX >= 0x030B0000
    safe_read(&((_PyInterpreterFrame *)frame)->f_code, &code, sizeof(code));
#  else
    safe_read(&((PyFrameObject *)frame)->f_code, &code, sizeof(code));
#  endif
    return code;
}

static long long
cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(probe_clock, &ts) != 0) {
        return -1;
    }
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What the thread executes: KIND_C_CALL when its current instruction is one that calls out to C (a call,
   or a generic operator running a type's slot) and it stays on that very instruction of that very
   frame, read again and again, while it runs DWELL_NS more on its CPU clock; KIND_BYTECODE otherwise.
   This tells C work that takes time (json.loads, a NumPy call) from the interpreter's own tiny calls and
   int arithmetic, which a compiled port removes: a loop of those moves on within a few hundred ns.
   Counting the thread's own CPU time, not wall time, keeps a thread that was preempted (a busy machine)
   from looking stuck: the sampler spins SPIN_NS, then naps so that the thread can run (on a busy machine
   the sampler's own wake-up may have taken its core), up to WAIT_NS. A thread that does not run
   meanwhile is KIND_PREEMPTED (under a call) or KIND_PREEMPTED_OP (under another operator). A generic
   + - * @ (call_ops marks 3, with an operand in sure_opargs) is C at once, watched or not: the
   interpreter specializes those for two ints or two floats, so the generic form runs another type's C
   slot (a NumPy array: under a microsecond, too short to watch with system calls; an int times a float
   is the one Python case it misreads). So is a call instruction left in its generic form (call_ops 4, 3.11+:
   a ufunc, another extension's callable, a class; Python functions, builtin functions and methods of
   builtin types get specialized forms, which are watched): a call of NumPy on 8 elements (~0.7 us) ends
   before the watch can tell it from a tiny call; only whether the thread runs is checked (RUN_NS of CPU,
   napping as above, and still 'R' after; else KIND_PREEMPTED, judged by the site's record like any other: a
   thread woken from a lock is often queued for a core or about to wait for the GIL). One that ran more than SHORT_NS before the second read is
   KIND_SAME_LONG or KIND_MOVED_LONG: a loop of tiny calls may be back on the instruction by then, a C
   call of some length may have ended. The sampler judges all these by the record of reads at the same
   instruction (*site): C, moved on, blocked, or the long reads' proportion. */
#define DWELL_NS 600
#define DWELL_OP_NS 300
#define SPIN_NS 4000
#define NAP_NS 10000
#define WAIT_NS 2000000
#define SHORT_NS 20000
#define RUN_NS 200
#define STUCK_NS 3000
#define STUCK_WAIT_NS 50000
#define STUCK_POLLS 5
/* Whether a thread at an instruction that calls nothing (a load, a store, a return, ``len``) stays on it
   while it runs STUCK_NS on its CPU, re-read at every poll: C work the instruction does itself, such as
   freeing a 48 MB bytes object (munmap, ~5 ms) or a large list when a store drops the last reference.
   Bytecode moves on within a few hundred ns; a loop would have to be back on the very instruction at
   every one of at least STUCK_POLLS polls (an instruction holding 30% of a loop's time: 0.3^5 = 0.2%).
   A thread not seen staying within STUCK_WAIT_NS of wall time is bytecode, as before (no naps here:
   on a busy machine a free that the polls cannot follow still reads bytecode, a known miss). */
static int
stays_on(PyThreadState *t, void *frame, void *instr)
{
    void *frame2, *instr2;
    long long c0 = cpu_ns(), c1 = c0, w0 = wall_ns();
    int polls = 0;
    if (c0 < 0) {
        return 0;
    }
    while (c1 >= 0 && (c1 - c0 < STUCK_NS || polls < STUCK_POLLS) && wall_ns() - w0 < STUCK_WAIT_NS) {
        polls++;
#  if PY_VERSION_HEX >= 0x030B0000
        if (!safe_read(instr_field(frame), &instr2, sizeof(instr2)) || instr2 != instr) {
            return 0;
        }
        (void)frame2;
        (void)t;
#  else
        current_instr(t, &frame2, &instr2);
        if (frame2 != frame || instr2 != instr) {
            return 0;
        }
#  endif
        c1 = cpu_ns();
    }
    if (c1 < 0 || c1 - c0 < STUCK_NS || polls < STUCK_POLLS) {
        return 0;
    }
    current_instr(t, &frame2, &instr2);  /* still the current frame: not a Python call it made */
    return frame2 == frame && instr2 == instr;
}

static int
current_kind(PyThreadState *t, void **site, void **code)
{
    void *frame, *instr, *frame2, *instr2;
    unsigned char op;
    current_instr(t, &frame, &instr);
    if (frame == NULL || !safe_read(instr, &op, 1)) {
        return KIND_UNKNOWN;
    }
    *code = frame_code(frame);
    if (!call_ops[op]) {
        return stays_on(t, frame, instr) ? KIND_C_CALL : KIND_BYTECODE;
    }
    *site = instr;
    if (call_ops[op] == 4) {
        /* a call left generic (3.11+): not a Python function, builtin function or method the interpreter
           specializes; the thread is in the call's C code, if it runs (not waiting for a core) */
        long long r0 = cpu_ns(), r1 = r0, w = wall_ns(), spent = 0;
        while (r0 >= 0 && r1 >= 0 && r1 - r0 < RUN_NS && (spent = wall_ns() - w) < WAIT_NS) {
            if (spent > SPIN_NS) {  /* let it have a core (maybe this one) on a busy machine */
                struct timespec nap = {0, NAP_NS};
                nanosleep(&nap, NULL);
            }
            r1 = cpu_ns();
        }
        /* running on a core now, and still: not queued for one, nor woken from a wait it is about to
           block again in (the GIL) */
        return r0 >= 0 && r1 - r0 >= RUN_NS && thread_running() == 1 ? KIND_C_CALL : KIND_PREEMPTED;
    }
    unsigned char oparg;
    if (call_ops[op] == 3 && safe_read((unsigned char *)instr + 1, &oparg, 1) && sure_opargs[oparg]) {
        return KIND_C_CALL;  /* a generic + - * @: not two ints or two floats, another type's C slot */
    }
    long long c0 = cpu_ns(), w0 = wall_ns(), c1 = c0, waited = 0, dwell = call_ops[op] == 1 ? DWELL_NS : DWELL_OP_NS;
    if (c0 < 0) {
        return KIND_UNKNOWN;
    }
    /* Spin a few microseconds (the thread is on another CPU: the usual case on a quiet machine); if it
       does not run meanwhile, it waits for a core, maybe this one: nap, so that it can run. */
    while (c1 >= 0 && c1 - c0 < dwell && (waited = wall_ns() - w0) < WAIT_NS) {
        if (waited > SPIN_NS) {
            struct timespec nap = {0, NAP_NS};
            nanosleep(&nap, NULL);
        }
#  if PY_VERSION_HEX >= 0x030B0000
        if (!safe_read(instr_field(frame), &instr2, sizeof(instr2)) || instr2 != instr) {
            /* it moved on (or the frame is gone): bytecode, unless it ran long enough meanwhile to
               have finished a C call of some length (then the site's record decides) */
            return cpu_ns() - c0 <= SHORT_NS ? KIND_MOVED : KIND_MOVED_LONG;
        }
#  else
        current_instr(t, &frame2, &instr2);
        if (frame2 != frame || instr2 != instr) {
            return cpu_ns() - c0 <= SHORT_NS ? KIND_MOVED : KIND_MOVED_LONG;
        }
#  endif
        c1 = cpu_ns();
    }
    if (c1 < 0 || c1 - c0 < dwell) {  /* it did not run: the instruction alone */
        return call_ops[op] == 1 ? KIND_PREEMPTED : KIND_PREEMPTED_OP;
    }
    current_instr(t, &frame2, &instr2);
    int same = frame2 == frame && instr2 == instr;
    if (c1 - c0 <= SHORT_NS) {
        return same ? KIND_C_CALL : KIND_MOVED;
    }
    return same ? KIND_SAME_LONG : KIND_MOVED_LONG;  /* after a long run: a loop may be back there */
}

/* probe_install(thread_ident, native_id, call_opcodes: bytes, sure_opargs: bytes) -> bool */
static PyObject *
stackread_probe_install(PyObject *self, PyObject *args)
{
    unsigned long ident;
    long native_id;
    Py_buffer ops, sure;
    if (!PyArg_ParseTuple(args, "kly*y*", &ident, &native_id, &ops, &sure)) {
        return NULL;
    }
    memset(sure_opargs, 0, sizeof(sure_opargs));
    for (Py_ssize_t i = 0; i < sure.len; i++) {
        sure_opargs[((unsigned char *)sure.buf)[i]] = 1;
    }
    PyBuffer_Release(&sure);
    memset(call_ops, 0, sizeof(call_ops));
    for (Py_ssize_t i = 0; i + 1 < ops.len; i += 2) {  /* (opcode, 1 call | 2 operator) pairs */
        call_ops[((unsigned char *)ops.buf)[i]] = ((unsigned char *)ops.buf)[i + 1];  /* 1 call, 2 operator,
                                                               3 BINARY_OP, 4 generic call (3.11+) */
    }
    PyBuffer_Release(&ops);
    probe_pid = getpid();
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  /* this (the sampler) thread's naps: ~1 us, not 50 us */
    long probe_value = 0x5eed, copy = 0;
    if (!safe_read(&probe_value, &copy, sizeof(copy)) || copy != probe_value) {
        Py_RETURN_FALSE;  /* process_vm_readv refused here (seccomp, an old kernel): no probe */
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", native_id);
    if (probe_stat_fd >= 0) {
        close(probe_stat_fd);
    }
    probe_stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    probe_tstate = find_thread(ident);
    if (probe_tstate == NULL || probe_stat_fd < 0 || pthread_getcpuclockid((pthread_t)ident, &probe_clock) != 0) {
        probe_tstate = NULL;
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* sleep_probe(seconds) -> (kind, probe_seconds, site, code): sleeps without the GIL, then reads what the thread
   executes (0 unknown, 1 bytecode, 2 a C function called by the current instruction, 4 not on a CPU:
   blocked in a system call, on a lock or waiting for the GIL, 5 runnable but waiting for a core, under an
   call, 6 bytecode: it moved on from an instruction that may call C, 7 as 5 under an operator, 9 / 10
   on the same instruction / moved on after running long); probe_seconds: how long the reading took after the sleep (at most
   WAIT_NS, when the thread waits for a core), which the sampler adds to its wake-up time; site: the instruction's address
   (an identity, never dereferenced by the caller); code: the address of the running frame's code object
   (an identity too; 0 when the thread was not running or could not be read). */
static PyObject *
stackread_sleep_probe(PyObject *self, PyObject *arg)
{
    double seconds;
    if (!PyArg_ParseTuple(arg, "d", &seconds)) {
        return NULL;
    }
    int kind = KIND_UNKNOWN;
    long long p0 = 0, p1 = 0;
    void *site = NULL, *code = NULL;
    PyThreadState *t = probe_tstate;
    Py_BEGIN_ALLOW_THREADS
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    p0 = wall_ns();
    int running = t != NULL && probe_stat_fd >= 0 ? thread_running() : -1;
    if (running == 0) {
        kind = KIND_BLOCKED;
        void *frame, *instr;
        unsigned char op;
        current_instr(t, &frame, &instr);  /* where it blocks: a record for the instruction (*site) */
        if (frame != NULL && safe_read(instr, &op, 1) && call_ops[op]) {
            site = instr;
        }
    }
    else if (running == 1) {
        kind = current_kind(t, &site, &code);
    }
    p1 = wall_ns();
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(idKK)", kind, (double)(p1 - p0) * 1e-9, (unsigned long long)(uintptr_t)site,
                         (unsigned long long)(uintptr_t)code);
}

static PyObject *
stackread_probe_remove(PyObject *self, PyObject *unused)
{
    probe_tstate = NULL;
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
    {"probe_install", stackread_probe_install, METH_VARARGS, "probe_install(ident, native_id, call_ops, sure_opargs) -> bool"},
    {"sleep_probe", stackread_sleep_probe, METH_VARARGS, "sleep_probe(seconds) -> (kind: 0 unknown, 1 bytecode, 2 C call, 4 blocked, 5/7 preempted, 6 moved on, 9/10 same/moved after long; probe seconds; site; code)"},
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

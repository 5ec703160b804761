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

#define KEEP 1024
#define WALK_LIMIT 1000000

typedef struct {
    void *addr;       /* the interpreter frame (3.11+) or frame object (3.10) */
    void *obj;        /* its frame object, once made */
    int seen;         /* carried our mark at this read: the same call as at an earlier read */
    PyObject *code;   /* borrowed while walking, then referenced */
    int lasti;        /* bytes */
} entry;

static entry *walk_buf = NULL;
static Py_ssize_t walk_cap = 0;
static void *prev_obj[KEEP];      /* frame objects of the previous read: identity only, never dereferenced */
static Py_ssize_t prev_n = 0;

/* The mark put in ``f_trace`` of the frame objects of calls seen (a Python function returning None, so
   a debugger that starts tracing later just drops it). */
static PyObject *mark = NULL;

static PyThreadState *
find_thread(unsigned long ident)
{
    PyInterpreterState *interp = PyThreadState_GetInterpreter(PyThreadState_Get());
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL; t = PyThreadState_Next(t)) {
        if (t->thread_id == ident) {
            return t;
        }
    }
    return NULL;
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

/* Copies the stack leaf -> root into walk_buf; returns its depth, or -1 when out of memory. */
static Py_ssize_t
walk(PyThreadState *t)
{
    Py_ssize_t n = 0;
#ifdef ADVISOR_INTERP_FRAMES
#  if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *f = t->current_frame;
#  else
    _PyInterpreterFrame *f = t->cframe ? t->cframe->current_frame : NULL;
#  endif
    for (; f != NULL && n < WALK_LIMIT; f = f->previous) {
#  if PY_VERSION_HEX >= 0x030C0000
        if (f->owner == FRAME_OWNED_BY_CSTACK) {
            continue;
        }
#  endif
        if (_PyFrame_IsIncomplete(f)) {
            continue;
        }
#  if PY_VERSION_HEX >= 0x030D0000
        PyObject *code = f->f_executable;
#  else
        PyObject *code = (PyObject *)f->f_code;
#  endif
        if (code == NULL || !PyCode_Check(code)) {
            continue;
        }
        if (n >= walk_cap && grow(n + 1) < 0) {
            return -1;
        }
        walk_buf[n].addr = (void *)f;
        walk_buf[n].code = code;
        walk_buf[n].lasti = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
        n++;
    }
#else
    PyFrameObject *f = t->frame;
    for (; f != NULL && n < WALK_LIMIT; f = f->f_back) {
        if (n >= walk_cap && grow(n + 1) < 0) {
            return -1;
        }
        walk_buf[n].addr = (void *)f;
        walk_buf[n].code = (PyObject *)f->f_code;
        walk_buf[n].lasti = f->f_lasti * 2;
        n++;
    }
#endif
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
    int failed = 0;
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
        lines[i] = PyCode_Addr2Line((PyCodeObject *)chosen[i].code, chosen[i].lasti);
        Py_INCREF(chosen[i].code);
        /* Call identity: a frame object lives as long as its call (the interpreter frame owns it); a
           new call has none, or a fresh one without our mark, even at a reused address. */
        if (failed || mark == NULL) {
            continue;
        }
#ifdef ADVISOR_INTERP_FRAMES
        _PyInterpreterFrame *f = (_PyInterpreterFrame *)chosen[i].addr;
        PyFrameObject *fo = f->frame_obj ? f->frame_obj : _PyFrame_MakeAndSetFrameObject(f);
        if (fo == NULL) {
            PyErr_Clear();
            failed = 1;
            continue;
        }
#else
        PyFrameObject *fo = (PyFrameObject *)chosen[i].addr;
#endif
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

static PyObject *
stackread_set_mark(PyObject *self, PyObject *fn)
{
    Py_INCREF(fn);
    Py_XSETREF(mark, fn);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"set_mark", stackread_set_mark, METH_O, "set_mark(fn): the f_trace mark of calls seen"},
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

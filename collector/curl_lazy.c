/*
 * collector/curl_lazy.c - dlopen() of libcurl on first use (curl_lazy.h).
 */
#include "curl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

ct_curl_api ct_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_err[256]; /* empty when loaded */

/* dlsym's object pointer as a function pointer, without the cast ISO C
 * leaves undefined (POSIX guarantees the representation). */
static int sym(void *lib, const char *name, void *fnp, size_t size)
{
    void *p = dlsym(lib, name);

    if (p == NULL) {
        snprintf(load_err, sizeof(load_err), "libcurl has no %s", name);
        return -1;
    }
    memcpy(fnp, &p, size);
    return 0;
}

#define SYM(lib, field, name) sym(lib, name, &api.field, sizeof(api.field))

static void load(void)
{
    static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    ct_curl_api api;
    void *lib = NULL;
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && lib == NULL; i++) {
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL && why == NULL)
            why = dlerror();
    }
    if (lib == NULL) {
        snprintf(load_err, sizeof(load_err), "cannot load libcurl (%s)",
                 why != NULL ? why : "not found");
        return;
    }
    memset(&api, 0, sizeof(api));
    if (SYM(lib, global_init, "curl_global_init") != 0 ||
        SYM(lib, global_cleanup, "curl_global_cleanup") != 0 ||
        SYM(lib, easy_init, "curl_easy_init") != 0 ||
        SYM(lib, easy_cleanup, "curl_easy_cleanup") != 0 ||
        SYM(lib, easy_setopt, "curl_easy_setopt") != 0 ||
        SYM(lib, easy_getinfo, "curl_easy_getinfo") != 0 ||
        SYM(lib, easy_strerror, "curl_easy_strerror") != 0 ||
        SYM(lib, multi_init, "curl_multi_init") != 0 ||
        SYM(lib, multi_cleanup, "curl_multi_cleanup") != 0 ||
        SYM(lib, multi_setopt, "curl_multi_setopt") != 0 ||
        SYM(lib, multi_add_handle, "curl_multi_add_handle") != 0 ||
        SYM(lib, multi_remove_handle, "curl_multi_remove_handle") != 0 ||
        SYM(lib, multi_assign, "curl_multi_assign") != 0 ||
        SYM(lib, multi_socket_action, "curl_multi_socket_action") != 0 ||
        SYM(lib, multi_info_read, "curl_multi_info_read") != 0) {
        dlclose(lib);
        return;
    }
    ct_curl = api; /* the library stays loaded for the process's life */
}

ct_status ct_curl_load(ct_error *err)
{
    (void)pthread_once(&once, load);
    if (load_err[0] != '\0')
        return ct_error_set(err, CT_ERR_INVALID, 0, "%s", load_err);
    return CT_OK;
}

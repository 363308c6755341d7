/* SPDX-License-Identifier: MIT */
#ifndef CIO_RT_SANITIZE_H
#define CIO_RT_SANITIZE_H

/*
 * Fiber annotations for AddressSanitizer and ThreadSanitizer. Without them
 * ASan reports false stack-buffer errors after a switch (and misses real
 * ones), and TSan mixes up the shadow stacks of different tasks.
 */

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define CIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define CIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO_TSAN 1
#endif
#endif

#ifndef CIO_ASAN
#define CIO_ASAN 0
#endif
#ifndef CIO_TSAN
#define CIO_TSAN 0
#endif

#if CIO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
                                     const void **bottom_old, size_t *size_old);
#endif

#if CIO_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

/*
 * Forgets ASan's shadow state for a stack about to be (re)used by a new
 * context. A task never returns from its first frame, so the redzones of its
 * last frames stay poisoned after it ends, and munmap does not clear shadow
 * memory either: a later stack at the same address would see them as
 * false "stack-buffer-overflow" reports. No-op without ASan.
 */
static inline void cio__san_stack_reset(void *lo, size_t size)
{
#if CIO_ASAN
    __asan_unpoison_memory_region(lo, size);
#else
    (void)lo;
    (void)size;
#endif
}

#if CIO_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#endif

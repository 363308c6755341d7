/* SPDX-License-Identifier: MIT */
#ifndef CIO_BASE_LIST_H
#define CIO_BASE_LIST_H

#include <stddef.h>

/*
 * Intrusive circular doubly-linked list with a sentinel head (libuv's queue,
 * the Linux kernel's list_head). A node that is not on a list has
 * next == prev == NULL, so cio__list_linked() can tell.
 */
struct cio__list {
    struct cio__list *next, *prev;
};

#define CIO_CONTAINER_OF(ptr, type, field)                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

static inline void cio__list_init(struct cio__list *head)
{
    head->next = head->prev = head;
}

static inline int cio__list_empty(const struct cio__list *head)
{
    return head->next == head;
}

static inline int cio__list_linked(const struct cio__list *node)
{
    return node->next != NULL;
}

static inline void cio__list_push_back(struct cio__list *head,
                                       struct cio__list *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

static inline void cio__list_push_front(struct cio__list *head,
                                        struct cio__list *node)
{
    node->next = head->next;
    node->prev = head;
    head->next->prev = node;
    head->next = node;
}

static inline void cio__list_remove(struct cio__list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node->prev = NULL;
}

static inline struct cio__list *cio__list_pop_front(struct cio__list *head)
{
    struct cio__list *n = head->next;
    if (n == head)
        return NULL;
    cio__list_remove(n);
    return n;
}

#define cio__list_each(it, head)                                               \
    for (struct cio__list *it = (head)->next; it != (head); it = it->next)

#endif

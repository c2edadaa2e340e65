// intrusive_list: a doubly linked list threaded through links embedded in its elements, so
// queueing never allocates (Xen's list_head, typed). An element is on at most one list per
// link; the list never owns its elements, and an element must leave before it is destroyed.
#pragma once

namespace hv {

template <class T>
struct ListLink {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

// `Link` maps an element to the ListLink this list threads through.
template <class T, ListLink<T>& (*Link)(T&)>
class IntrusiveList {
 public:
  bool empty() const { return head_ == nullptr; }
  T* front() const { return head_; }
  static T* next(T& item) { return Link(item).next; }
  static T* prev(T& item) { return Link(item).prev; }
  // True while `item` is on some list through this link.
  static bool linked(T& item) { return Link(item).linked; }

  void push_back(T& item) { insert_before(nullptr, item); }
  void push_front(T& item) { insert_before(head_, item); }

  // Inserts `item` (not on any list through this link) before `pos`; nullptr: at the tail.
  void insert_before(T* pos, T& item) {
    ListLink<T>& l = Link(item);
    l.next = pos;
    l.prev = pos != nullptr ? Link(*pos).prev : tail_;
    (l.prev != nullptr ? Link(*l.prev).next : head_) = &item;
    (pos != nullptr ? Link(*pos).prev : tail_) = &item;
    l.linked = true;
  }

  // Unlinks `item`, which must be on this list.
  void remove(T& item) {
    ListLink<T>& l = Link(item);
    (l.prev != nullptr ? Link(*l.prev).next : head_) = l.next;
    (l.next != nullptr ? Link(*l.next).prev : tail_) = l.prev;
    l = ListLink<T>{};
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

}  // namespace hv

"""Watching a book's lists for new items, for the language's `watch for new ...` and the `watch` command
(`book.commands.watch`).

    watch    poll a read procedure; hand each new item on exactly once (`book.watching.watch`)
    cursor   where each watch stands, kept across restarts and locked while it runs (`book.watching.cursor`)

Importing this package loads nothing: import the module you need.
"""

"""Watching a book's lists for new items: the language's `watch for new ...` and the `watch` command.

    watch    poll a read procedure; hand each new item on exactly once (`book.watching.watch`)
    cursor   where each watch stands, kept across restarts and locked while it runs (`book.watching.cursor`)
    cli      `watch THING [--FILTER VALUE] [--run FILE]`, for the lists the book declares (`book.watching.cli`)

Importing this package loads nothing: import the module you need.
"""

"""The downloader: picked items to files, with the token sent only to allowlisted hosts.

Private: users reach :class:`Downloader`, :class:`Size` and the results from the package root.
"""

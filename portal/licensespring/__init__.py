"""The LicenseSpring offline protocol: request files, signing, the License API client and its
errors. Framework-free: nothing here imports Django, so the protocol can be read (and tested)
on its own."""

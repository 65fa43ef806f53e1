"""redactor/engine"""
